"""Users, tenant settings and the audit log (connections: oauthcore.admin.connections)."""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_http_methods

from oauthcore.admin.base import (
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceModelForm,
    TokenCascadeMixin,
    admin_actor,
    adopt,
    service_errors_to_form,
)
from oauthcore.audit import DENIAL_ACTION, record_event, recorded_denial
from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import AuditEvent, Connection, TenantSettings, User
from oauthcore.models.tenant import SINGLETON_ID
from oauthcore.services.mfa import confirmed_factors, factors_reset, unused_recovery_codes
from oauthcore.services.tenant import UPDATABLE_FIELDS as TENANT_FIELDS
from oauthcore.services.tenant import tenant_settings_update
from oauthcore.services.users import user_delete, user_password_changed, user_update

# -- users -----------------------------------------------------------------------------------------------------


# Django's UserAdmin names its password page so, whatever the user model.
PASSWORD_CHANGE_URL_NAME = "auth_user_password_change"  # noqa: S105 - a URL name, not a password


@admin.register(User)
class UserAdmin(TokenCascadeMixin, ServiceAdminMixin, DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "display_user_id",
        "connection",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
    )
    list_select_related = ("connection",)
    list_filter = ("connection", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "email", "first_name", "last_name", "uid")
    readonly_fields = ("display_user_id", "last_login", "date_joined", "second_factors")
    fieldsets = (
        (None, {"fields": ("username", "password", "display_user_id", "connection")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "email_verified")}),
        ("Multi-factor authentication", {"fields": ("second_factors",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "email_verified",
                    "connection",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    change_form_template = "admin/oauthcore/user/change_form.html"

    def get_urls(self):
        reset = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.factors_reset_view))
        return [
            path("<path:object_id>/second-factors/remove/", reset, name="oauthcore_user_factors_reset"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, unquote(object_id))
        has_factors = user is not None and confirmed_factors(user).exists()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "has_factors": has_factors})

    def factors_reset_view(self, request, object_id):
        """ "Remove second factors" (a user who lost their device): a confirmation page saying what goes,
        then ``factors_reset`` on POST. Nothing changes on GET."""
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        change_url = reverse("admin:oauthcore_user_change", args=[user.pk])
        if request.method == "POST":
            removed = factors_reset(actor=self.actor(request), user=user)
            messages.success(
                request,
                f"{removed} second factor{'s' if removed != 1 else ''} and the recovery codes of {user} were removed: "
                "a password alone signs them in until they enroll again.",
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Remove second factors",
            "opts": self.model._meta,
            "original": user,
            "change_url": change_url,
            "factors": [str(factor) for factor in confirmed_factors(user)],
            "recovery_codes": unused_recovery_codes(user),
        }
        return TemplateResponse(request, "admin/oauthcore/user/factors_reset_confirmation.html", context)

    def get_readonly_fields(self, request, obj=None):
        # The connection is part of the user_id (the tokens' sub): fixed once the user exists.
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "connection") if obj is not None else readonly

    @admin.display(description="second factors")
    def second_factors(self, obj):
        """What the user enrolled (they manage it at /account/security); never a secret."""
        factors = [str(factor) for factor in confirmed_factors(obj)] if obj.pk else []
        if not factors:
            return "None: a password alone signs this user in."
        return f"{', '.join(factors)}; {unused_recovery_codes(obj)} unused recovery codes"

    @admin.display(description="user ID", ordering="uid")
    def display_user_id(self, obj):
        return obj.user_id if obj.connection_id else "—"

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        # A change is saved in save_related, with the groups and permissions, by one user_update call.

    def save_related(self, request, form, formsets, change):
        if not change:
            return super().save_related(request, form, formsets, change)
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if "email" in fields:  # the box as the admin left it vouches (or not) for the new address
            fields["email_verified"] = form.cleaned_data["email_verified"]
        message = self.construct_change_message(request, form, formsets, add=False)
        with service_errors_to_form():
            user_update(actor=self.actor(request), user=form.instance, changes=message, **fields)
        return None

    # Django's add form and password form write the user themselves; the audit log hears of it here,
    # in the same transaction. Messages name the changed fields, never values.
    def log_addition(self, request, obj, message):
        record_event(actor=admin_actor(request), action="user.create", target=obj, data={"user_id": obj.user_id})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if request.resolver_match.url_name == PASSWORD_CHANGE_URL_NAME:  # the change form's is user_update's
            # A new password ends the old one's sessions (the auth hash) and its tokens, as /account does.
            user_password_changed(actor=admin_actor(request), user=obj, reason="password changed by an admin")
        return super().log_change(request, obj, message)

    @transaction.atomic
    def user_change_password(self, request, id, form_url=""):
        """Django's password page, in one transaction with what ``log_change`` writes after it."""
        return super().user_change_password(request, id, form_url)

    def delete_model(self, request, obj):
        user_delete(actor=admin_actor(request), user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_delete(actor=admin_actor(request), user=user)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "connection" not in initial:
            default = Connection.objects.filter(name=DATABASE_CONNECTION_NAME).values_list("pk", flat=True).first()
            if default:
                initial["connection"] = default
        return initial


# -- tenant settings -----------------------------------------------------------------------------------------


class TenantSettingsForm(ServiceModelForm):
    class Meta:
        model = TenantSettings
        fields = sorted(TENANT_FIELDS)


@admin.register(TenantSettings)
class TenantSettingsAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """One row: the changelist opens it; it is never added twice nor deleted."""

    form = TenantSettingsForm
    fieldsets = (
        (None, {"fields": ("friendly_name", "support_email")}),
        (
            "Applications and partners",
            {
                "fields": ("default_audience", "enable_dynamic_client_registration", "require_partner_approval"),
            },
        ),
        ("Multi-factor authentication", {"fields": ("mfa_policy",)}),
        ("Changed", {"fields": ("updated_at",)}),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not TenantSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # the usual 403
        pk = TenantSettings.objects.values_list("pk", flat=True).first()
        if pk is None:
            return HttpResponseRedirect(reverse("admin:oauthcore_tenantsettings_add"))
        return HttpResponseRedirect(reverse("admin:oauthcore_tenantsettings_change", args=[pk]))

    def response_change(self, request, obj):
        if "_continue" not in request.POST and "_addanother" not in request.POST:
            self.message_user(request, "The tenant settings were saved.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:oauthcore_tenantsettings_change", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        names = form.changed_data if change else list(form.fields)
        fields = {name: form.cleaned_data[name] for name in names if name in TENANT_FIELDS}
        with service_errors_to_form():
            saved = tenant_settings_update(actor=self.actor(request), **fields)
        adopt(obj, saved)
        if obj.pk != SINGLETON_ID:  # pragma: no cover - the model allows no other row
            raise AssertionError("tenant settings are a single row")


# -- audit log -----------------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is written by the services, never by hand (and is hash-chained:
    ``manage.py verify_audit_log`` finds any entry changed or deleted behind the admin's back)."""

    list_display = (
        "sequence",
        "created_at",
        "action",
        "actor_type",
        "actor_label",
        "target_type",
        "target_id",
        "short_reason",
    )
    list_filter = ("action", "actor_type", "target_type")
    search_fields = ("action", "actor_id", "actor_label", "target_type", "target_id", "reason")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "action",
        "actor_type",
        "actor_id",
        "actor_label",
        "target_type",
        "target_id",
        "reason",
        "data_display",
        "sequence",
        "previous_hash",
        "entry_hash",
    )
    readonly_fields = (*fields, "denial_in_words")
    show_full_result_count = False

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 80 else obj.reason[:79] + "…"

    def get_fields(self, request, obj=None):
        if obj is not None and obj.action == DENIAL_ACTION:  # why, in words, beside the wire's description
            at = self.fields.index("reason") + 1
            return (*self.fields[:at], "denial_in_words", *self.fields[at:])
        return self.fields

    @admin.display(description="why it was denied")
    def denial_in_words(self, obj):
        denial = recorded_denial(obj)
        if denial is None:
            return "—"
        return f"{denial.sentence} (rule {denial.rule.value}: {denial.rule.title})"

    @admin.display(description="data")
    def data_display(self, obj):
        """The entry's data as a list of what it holds (a trace line by line), not a JSON dump."""
        if not obj.data:
            return "—"
        if not isinstance(obj.data, dict):
            return _data_value(obj.data)
        rows = ((key.replace("_", " ").capitalize(), _data_value(value)) for key, value in sorted(obj.data.items()))
        return format_html('<dl class="audit-data">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))


def _data_value(value):
    if isinstance(value, list):
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((_data_value(item),) for item in value)))
    if isinstance(value, dict):
        return format_html("<code>{}</code>", json.dumps(value, sort_keys=True, default=str))
    return "—" if value in (None, "") else str(value)
