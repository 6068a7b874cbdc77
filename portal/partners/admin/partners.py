"""Partners: made here with their first owner, activated or suspended, their members edited inline."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, TokenCascadeMixin, adopt, service_errors_to_form
from oauthcore.admin.deletion import (
    Consequence,
    DeletionSummary,
    DeletionSummaryMixin,
    application_deletion_summary,
    cascade_counts,
)
from oauthcore.models import Application
from portal.partners.admin.memberships import MembershipInline, save_membership
from portal.partners.models import AccessRequest, Partner, PartnerApplication, PartnerMembership
from portal.partners.services.memberships import membership_add
from portal.partners.services.partners import partner_create, partner_delete, partner_set_status, partner_update


def partner_deletion_summary(pks) -> DeletionSummary:
    """A partner goes with its apps (each with what goes with an app: partner_delete deletes them through
    application_delete), its members, its invitations and its access requests."""
    apps = list(Application.objects.filter(partner__in=pks).values_list("pk", flat=True))
    of_apps = application_deletion_summary(apps)
    own, refusing = cascade_counts(Partner, pks, hidden=(PartnerApplication,))
    # A request names both the partner and its app: counted once, with the partner's.
    requests = AccessRequest.objects.filter(Q(partner__in=pks) | Q(client__in=apps)).count()
    return DeletionSummary(
        (
            Consequence.rows(Application, len(apps)),
            *(c for c in of_apps.consequences if c.model is not AccessRequest),
            *(c for c in own if c.model is not AccessRequest),
            Consequence.rows(AccessRequest, requests),
        ),
        protected=(*of_apps.protected, *refusing),
    )


class PartnerForm(ServiceModelForm):
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.all(),
        required=False,
        widget=AutocompleteSelect(PartnerMembership._meta.get_field("user"), admin.site),
        help_text="The partner's first member, with the owner role.",
    )

    class Meta:
        model = Partner
        fields = ["name", "website", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields and self.instance._state.adding:
            self.fields["owner"].required = True


@admin.register(Partner)
class PartnerAdmin(TokenCascadeMixin, DeletionSummaryMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = PartnerForm
    deletion_summary = staticmethod(partner_deletion_summary)
    list_display = ("name", "status", "website", "member_count", "application_count", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "website")
    # Explicit: the counts below group the query, and a grouped query drops Meta.ordering (the
    # partner autocomplete on an application's add page would page through an unordered list).
    ordering = ("name",)
    actions = ("activate", "suspend", "delete_selected")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "website", "owner")
        return ("name", "website", "status", "email_verified_at", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("email_verified_at", "created_at") if obj is not None else ()

    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None else []

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("memberships", distinct=True), application_total=Count("applications", distinct=True)
            )
        )

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="applications", ordering="application_total")
    def application_count(self, obj):
        return obj.application_total

    def save_model(self, request, obj, form, change):
        data, actor = form.cleaned_data, self.actor(request)
        with service_errors_to_form():
            if not change:
                adopt(obj, partner_create(actor=actor, name=data["name"], website=data["website"], owner=data["owner"]))
                return
            details = {name: data[name] for name in form.changed_data if name in ("name", "website")}
            if details:
                partner_update(actor=actor, partner=obj, **details)
            if "status" in form.changed_data:
                partner_set_status(actor=actor, partner=obj, status=data["status"])

    def save_formset(self, request, form, formset, change):
        if formset.model is not PartnerMembership:  # pragma: no cover - no other inline
            return super().save_formset(request, form, formset, change)
        actor = self.actor(request)
        formset.save(commit=False)
        with service_errors_to_form():
            for membership in formset.deleted_objects:
                save_membership(actor, membership, deleted=True)
            for membership, changed in formset.changed_objects:
                save_membership(actor, membership, changed=changed)
            for membership in formset.new_objects:
                adopt(
                    membership,
                    membership_add(actor=actor, partner=form.instance, user=membership.user, role=membership.role),
                )
        return None

    def delete_model(self, request, obj):
        partner_delete(actor=self.actor(request), partner=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda partner: self.delete_model(request, partner))

    def _set_status(self, request, queryset, status) -> None:
        changed = 0
        for partner in queryset.exclude(status=status):
            partner_set_status(actor=self.actor(request), partner=partner, status=status)
            changed += 1
        self.message_user(request, f"{changed} partner(s) now {status}.", messages.SUCCESS)

    @admin.action(description="Activate selected partners", permissions=["change"])
    def activate(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.ACTIVE)

    @admin.action(description="Suspend selected partners", permissions=["change"])
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.SUSPENDED)
