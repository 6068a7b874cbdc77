"""Applications, with the partner that owns them: the core's application admin, re-registered.

django-oauth-toolkit's admin registers the core ``Application`` with ``oauthcore.admin.ApplicationAdmin``
(``oauth2_provider`` comes before this app in INSTALLED_APPS, so its admin module is imported first);
this module replaces that registration with a subclass that knows the owning partner.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from oauthcore.admin.applications import ApplicationAdmin, ApplicationForm
from oauthcore.models import Application
from portal.partners.models import Partner, PartnerApplication
from portal.partners.services.apps import partner_application_create, partner_ownership_errors
from portal.platform.caching import forbid_caching

ADMIN_HINTS = {
    "is_first_party": "Untick “first party”, or leave the partner empty.",
    "third_party_security_mode": "Choose strict, or leave the partner empty.",
}


class PartnerOwnedApplicationForm(ApplicationForm):
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.all(),
        required=False,
        widget=AutocompleteSelect(PartnerApplication._meta.get_field("partner"), admin.site),
        help_text="The partner that owns the app, if any (its apps are third party and strict). Fixed at creation.",
    )

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("partner") is not None:
            errors = partner_ownership_errors(
                is_first_party=cleaned_data.get("is_first_party", False),
                third_party_security_mode=cleaned_data.get("third_party_security_mode") or "",
            )
            for field, message in errors.items():
                self.add_error(field, f"{message} {ADMIN_HINTS[field]}")
        return cleaned_data


# Where the list shows the owner: after the ownership column.
_PARTNER_COLUMN = ApplicationAdmin.list_display.index("party") + 1


class PartnerOwnedApplicationAdmin(ApplicationAdmin):
    """The core's application pages, with the owning partner: chosen on the add page and fixed
    afterwards, a list column, a filter and a search. The core model has no partner of its own."""

    form = PartnerOwnedApplicationForm
    list_display = (
        *ApplicationAdmin.list_display[:_PARTNER_COLUMN],
        "owning_partner",
        *ApplicationAdmin.list_display[_PARTNER_COLUMN:],
    )
    list_select_related = ("partner_link__partner",)
    list_filter = (*ApplicationAdmin.list_filter, ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = (*ApplicationAdmin.search_fields, "partner__name")

    def get_fieldsets(self, request, obj=None):
        # Chosen on the add page (the form's field), then shown as it is.
        partner = "partner" if obj is None else "owning_partner"
        (name, options), *others = super().get_fieldsets(request, obj)
        return [(name, {**options, "fields": (*options["fields"], partner)}), *others]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "owning_partner") if obj is not None else fields

    # Not "partner": that name is the applications' query name for their owner (Partner.applications).
    @admin.display(description="partner", ordering="partner_link__partner__name")
    def owning_partner(self, obj):
        link = getattr(obj, "partner_link", None)
        return None if link is None else link.partner

    # The pages after an add or a secret rotation show the new secret once (in a message).
    def changeform_view(self, request, *args, **kwargs):
        return forbid_caching(super().changeform_view(request, *args, **kwargs))

    def changelist_view(self, request, *args, **kwargs):
        return forbid_caching(super().changelist_view(request, *args, **kwargs))

    def create_application(self, request, form, **arguments):
        partner = form.cleaned_data.get("partner")
        if partner is None:
            return super().create_application(request, form, **arguments)
        return partner_application_create(actor=self.actor(request), partner=partner, **arguments)


admin.site.unregister(Application)
admin.site.register(Application, PartnerOwnedApplicationAdmin)
