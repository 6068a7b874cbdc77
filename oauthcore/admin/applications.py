"""Applications (OAuth clients) and, inline, their client grants."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from oauthcore.admin.base import (
    LinesField,
    ServiceAdminMixin,
    ServiceModelForm,
    TokenCascadeMixin,
    adopt,
    service_errors_to_form,
)
from oauthcore.admin.client_grants import ClientGrantForm, ClientGrantInlineFormSet, save_client_grant_forms
from oauthcore.admin.deletion import DeletionSummaryMixin, application_deletion_summary
from oauthcore.admin.simulator import party_label
from oauthcore.constants import GrantType
from oauthcore.models import Application, ClientGrant
from oauthcore.services.applications import (
    UPDATABLE_FIELDS,
    IssuedCredentials,
    application_create,
    application_delete,
    application_rotate_secret,
    application_update,
)
from oauthcore.services.tokens import application_tokens_revoke

# Form field name -> service keyword.
SERVICE_NAMES = {"redirect_uris": "callbacks"}
ADD_ONLY_FIELDS = ("is_first_party", "third_party_security_mode")
CREATE_ARGUMENTS = ("name", "app_type", *ADD_ONLY_FIELDS)
ORGANIZATION_FIELDS = ("organization_usage", "organization_require_behavior")
ORGANIZATIONS_FIELDSET = (
    "Organizations",
    {
        "fields": ORGANIZATION_FIELDS,
        "description": "Whether users log in to an organization in this app (user flows). Machine-to-machine "
        "access to an organization is set on each client grant instead.",
    },
)


class ApplicationForm(ServiceModelForm):
    """Never shows nor accepts the client secret; DOT's derived columns stay out."""

    redirect_uris = LinesField(
        as_list=False,
        label="Callback URLs",
        help_text="One per line. Exact URLs: no wildcards, no fragments.",
    )
    allowed_origins = LinesField(
        as_list=False,
        label="Allowed origins (CORS)",
        help_text="One per line, e.g. https://app.example.com",
    )
    web_origins = LinesField(
        label="Allowed web origins",
        help_text="Origins allowed to use silent authentication. One per line.",
    )
    logo_uri = forms.URLField(label="Logo URL", max_length=2000, required=False, assume_scheme="https")
    grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unchecked on creation for the defaults of the application type.",
    )

    class Meta:
        model = Application
        fields = [
            "name",
            "description",
            "logo_uri",
            "app_type",
            "is_first_party",
            "third_party_security_mode",
            "redirect_uris",
            "allowed_origins",
            "web_origins",
            "redirection_policy",
            "grant_types",
            "token_endpoint_auth_method",
            "client_metadata",
            "organization_usage",
            "organization_require_behavior",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ORGANIZATION_FIELDS:  # not sent (a form of an older page, a script): the app's value stays
            if name in self.fields:
                self.fields[name].required = False

    def _clean_organization_field(self, name: str) -> str:
        value = self.cleaned_data.get(name)
        if value:
            return value
        return getattr(self.instance, name) or Application._meta.get_field(name).default

    def clean_organization_usage(self):
        return self._clean_organization_field("organization_usage")

    def clean_organization_require_behavior(self):
        return self._clean_organization_field("organization_require_behavior")

    def clean_client_metadata(self):
        metadata = self.cleaned_data.get("client_metadata")
        return {} if metadata is None else metadata

    def service_fields(self, names) -> dict:
        return {
            SERVICE_NAMES.get(name, name): (
                self.cleaned_data[name].split() if name == "redirect_uris" else self.cleaned_data[name]
            )
            for name in names
            if SERVICE_NAMES.get(name, name) in UPDATABLE_FIELDS
        }


class ClientGrantRowsFormSet(ClientGrantInlineFormSet):
    """Every row's API select shares one list of choices: one query for the page, not one per row."""

    def __init__(self, *args, **kwargs):
        self._api_choices = None
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        field = form.fields.get("resource_server")
        if field is not None:
            select = getattr(field.widget, "widget", field.widget)  # inside the admin's related-widget wrapper
            if self._api_choices is None:
                self._api_choices = list(select.choices)
            select.choices = self._api_choices
        return form


class ClientGrantInline(admin.TabularInline):
    model = ClientGrant
    fk_name = "client"
    form = ClientGrantForm
    formset = ClientGrantRowsFormSet
    fields = (
        "resource_server",
        "subject_type",
        "scope",
        "allow_all_scopes",
        "organization_usage",
        "allow_any_organization",
        "is_system",
    )
    readonly_fields = ("is_system",)
    extra = 0
    verbose_name = "client grant (API access)"
    verbose_name_plural = "client grants (API access)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("resource_server", "client")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # No edit/add/view icons beside the API in each row: the row then fits a desktop window (the APIs
        # have their own pages, linked from the client grant's own page).
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_add_related = widget.can_change_related = widget.can_view_related = False
            widget.can_delete_related = False
        return formfield


class ApplicationAdmin(TokenCascadeMixin, DeletionSummaryMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = ApplicationForm
    deletion_summary = staticmethod(application_deletion_summary)  # the delete pages say what goes with it
    # Few columns, so the list fits a desktop window beside the filters: who owns an app is one column
    # (created via, the auth method and the rest are filters).
    list_display = ("name", "client_id", "app_type", "party", "grant_count", "created")
    list_display_links = ("name", "client_id")
    list_filter = (
        "app_type",
        "is_first_party",
        "third_party_security_mode",
        "created_via",
        "token_endpoint_auth_method",
    )
    search_fields = ("name", "client_id", "description")
    date_hierarchy = "created"
    ordering = ("-created",)
    view_on_site = False  # DOT's own application pages are not routed
    actions = ("rotate_secret", "revoke_tokens", "delete_selected")
    add_fieldsets = (
        (None, {"fields": ("name", "description", "logo_uri", "app_type")}),
        (
            "Ownership",
            {
                "fields": ("is_first_party", "third_party_security_mode"),
                "description": "Fixed at creation. Third-party apps default to strict mode.",
            },
        ),
        ("Application URIs", {"fields": ("redirect_uris", "allowed_origins", "web_origins", "redirection_policy")}),
        ("Advanced", {"fields": ("grant_types", "token_endpoint_auth_method", "client_metadata")}),
        ORGANIZATIONS_FIELDSET,
    )
    change_fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "client_id",
                    "client_secret_display",
                    "description",
                    "logo_uri",
                    "app_type",
                )
            },
        ),
        ("Ownership", {"fields": ("is_first_party", "third_party_security_mode", "created_via")}),
        ("Application URIs", {"fields": ("redirect_uris", "allowed_origins", "web_origins", "redirection_policy")}),
        ("Advanced", {"fields": ("grant_types", "token_endpoint_auth_method", "client_metadata")}),
        ORGANIZATIONS_FIELDSET,
        ("Dates", {"fields": ("created", "updated")}),
    )
    change_readonly_fields = (
        "client_id",
        "client_secret_display",
        "created_via",
        "created",
        "updated",
        *ADD_ONLY_FIELDS,
    )

    def get_fieldsets(self, request, obj=None):
        return self.change_fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly_fields if obj is not None else ()

    def get_inlines(self, request, obj):
        # Grants need the application's id: they are added once it exists.
        return [ClientGrantInline] if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(grant_count=Count("client_grants"))

    @admin.display(description="party", ordering="is_first_party")
    def party(self, obj):
        return party_label(obj)

    @admin.display(description="client grants", ordering="grant_count")
    def grant_count(self, obj):
        return obj.grant_count

    @admin.display(description="client secret")
    def client_secret_display(self, obj):
        if obj is None or not obj.client_secret_hint:
            return "—"
        previous = obj.previous_secrets.filter(expires_at__gt=timezone.now())
        return format_html(
            "<code>••••{}</code>{} <span class='help'>(only the last four characters are kept for display; "
            "use the “Rotate client secret” action for a new secret: it ends every grace period)</span>",
            obj.client_secret_hint,
            format_html_join(
                "",
                "<br><code>••••{}</code> previous secret, valid until {} UTC",
                ((p.hint, f"{p.expires_at:%Y-%m-%d %H:%M}") for p in previous),
            ),
        )

    # -- writes ------------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        with service_errors_to_form():
            if change:
                fields = form.service_fields(form.changed_data)
                if fields:
                    application_update(actor=self.actor(request), application=obj, **fields)
                return
            data = form.cleaned_data
            issued = self.create_application(
                request,
                form,
                name=data["name"],
                app_type=data["app_type"],
                is_first_party=data["is_first_party"],
                third_party_security_mode=data["third_party_security_mode"],
                **form.service_fields(name for name in form.fields if name not in CREATE_ARGUMENTS),
            )
        adopt(obj, issued.application)
        obj._plain_client_secret = issued.client_secret

    def create_application(self, request, form, **arguments) -> IssuedCredentials:
        """The add form's write; an app that extends this admin (the partner app) may wrap it."""
        return application_create(actor=self.actor(request), **arguments)

    def save_formset(self, request, form, formset, change):
        if formset.model is ClientGrant:
            with service_errors_to_form():
                save_client_grant_forms(self.actor(request), formset, client=form.instance)
        else:  # pragma: no cover - no other inline
            super().save_formset(request, form, formset, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = obj.__dict__.pop("_plain_client_secret", None)
        if secret:
            show_secret(request, obj, secret, created=True)
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        application_delete(actor=self.actor(request), application=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda app: application_delete(actor=self.actor(request), application=app))

    # -- actions -------------------------------------------------------------------------------------------

    @admin.action(
        description="Rotate client secret (one application; the old secret stops working)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        applications = list(queryset[:2])
        if len(applications) != 1:
            self.message_user(request, "Select exactly one application to rotate its secret.", messages.ERROR)
            return
        application = applications[0]
        try:
            secret = application_rotate_secret(actor=self.actor(request), application=application)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        show_secret(request, application, secret, created=False)

    @admin.action(description="Revoke all tokens of the selected applications", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        for application in queryset:
            counts = application_tokens_revoke(
                actor=self.actor(request), application=application, reason="revoked by a tenant admin"
            )
            self.message_user(request, f"{application}: revoked {counts}.", messages.SUCCESS)


def show_secret(request, application, secret: str, *, created: bool) -> None:
    what = "The client secret" if created else "The new client secret"
    messages.warning(
        request,
        format_html(
            "{} of {} is <code>{}</code> — copy it now: it is stored hashed and will not be shown again.",
            what,
            application,
            secret,
        ),
        extra_tags="client-secret",
    )
