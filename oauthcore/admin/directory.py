"""Connections, users, tenant settings and the audit log."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from oauthcore.admin.base import (
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceModelForm,
    TokenCascadeMixin,
    admin_actor,
    adopt,
    counted,
    service_errors_to_form,
)
from oauthcore.audit import DENIAL_ACTION, record_event, recorded_denial
from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import AuditEvent, Connection, TenantSettings, User
from oauthcore.models.tenant import SINGLETON_ID
from oauthcore.reach import connection_users, third_party_sign_in_apps
from oauthcore.services.connections import (
    connection_create,
    connection_delete,
    connection_set_domain_level,
    connection_set_enabled_clients,
    connection_update,
)
from oauthcore.services.tenant import UPDATABLE_FIELDS as TENANT_FIELDS
from oauthcore.services.tenant import tenant_settings_update
from oauthcore.services.users import user_delete, user_update

# -- connections ---------------------------------------------------------------------------------------------


CONFIRM_DEMOTION_FIELD = "confirm_demotion"


def demotion_warning(connection: Connection, *, apps: int | None = None, users: int | None = None) -> str:
    """What taking ``connection`` off domain level does, in words, with how many it reaches today
    (``apps`` and ``users`` when counted already)."""
    apps = counted(third_party_sign_in_apps() if apps is None else apps, "third-party app")
    users = counted(connection_users(connection) if users is None else users, "user")
    return (
        f"Demoting {connection.name} from domain level: {apps} can no longer sign users in through it, "
        f"and its {users} can no longer sign in to any third-party app. Their consents, and the tokens "
        "already issued, stay."
    )


class ConnectionForm(ServiceModelForm):
    # Shown (by ConnectionAdmin) when a domain-level connection is sent back unticked.
    confirm_demotion = forms.BooleanField(
        required=False,
        label="Yes, demote it",
        help_text="Third-party apps sign users in only through domain-level connections.",
    )

    class Meta:
        model = Connection
        fields = ["name", "display_name", "strategy", "is_domain_connection", "enabled_clients"]

    def demotes(self, data) -> bool:
        return bool(
            not self.instance._state.adding
            and self.initial.get("is_domain_connection")
            and "is_domain_connection" in data
            and not data["is_domain_connection"]
        )

    def clean(self):
        cleaned_data = super().clean()
        if self.demotes(cleaned_data) and not cleaned_data.get(CONFIRM_DEMOTION_FIELD):
            self.add_error(CONFIRM_DEMOTION_FIELD, f"{demotion_warning(self.instance)} Tick the box to confirm.")
        return cleaned_data


@admin.register(Connection)
class ConnectionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ConnectionForm
    list_display = (
        "name",
        "display_name",
        "strategy",
        "is_domain_connection",
        "enabled_client_count",
        "user_count",
        "created_at",
    )
    list_filter = ("strategy", "is_domain_connection")
    search_fields = ("name", "display_name", "id")
    autocomplete_fields = ("enabled_clients",)
    actions = ("promote", "demote", "delete_selected")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "display_name", "strategy", "is_domain_connection", "enabled_clients")
        fields = ("id", "name", "display_name", "strategy", "is_domain_connection", "who_signs_in")
        if request.method == "POST" and obj.is_domain_connection and not request.POST.get("is_domain_connection"):
            fields = (*fields, CONFIRM_DEMOTION_FIELD)  # a demotion sent: the form asks to confirm it
        return (*fields, "enabled_clients", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return ("id", "name", "strategy", "who_signs_in", "created_at", "updated_at") if obj is not None else ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(client_total=Count("enabled_clients", distinct=True), user_total=Count("users", distinct=True))
        )

    @admin.display(description="who signs in through it")
    def who_signs_in(self, obj):
        users = counted(connection_users(obj), "user")
        if not obj.is_domain_connection:
            return f"Its {users}, in first-party apps only: third-party apps cannot sign them in."
        return (
            f"Its {users}, in first-party apps and, being at domain level, in third-party apps "
            f"(those that sign users in: {third_party_sign_in_apps()} today)."
        )

    @admin.display(description="enabled apps", ordering="client_total")
    def enabled_client_count(self, obj):
        return obj.client_total

    @admin.display(description="users", ordering="user_total")
    def user_count(self, obj):
        return obj.user_total

    def has_delete_permission(self, request, obj=None):
        # Every user without another connection lands in the database connection.
        return super().has_delete_permission(request, obj) and not (
            obj is not None and obj.name == DATABASE_CONNECTION_NAME
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = self.actor(request)
        with service_errors_to_form():
            if change:
                domain_level = obj.is_domain_connection
                obj.is_domain_connection = form.initial["is_domain_connection"]  # changed by its own service
                fields = {name: data[name] for name in form.changed_data if name == "display_name"}
                if fields:
                    connection_update(actor=actor, connection=obj, **fields)
                obj.is_domain_connection = domain_level
                if "is_domain_connection" in form.changed_data:
                    connection_set_domain_level(
                        actor=actor, connection=obj, is_domain_connection=data["is_domain_connection"]
                    )
                return
            created = connection_create(
                actor=actor,
                name=data["name"],
                strategy=data["strategy"],
                display_name=data["display_name"],
                is_domain_connection=data["is_domain_connection"],
            )
        adopt(obj, created)

    def save_related(self, request, form, formsets, change):
        """Enabled clients through the service (audited), not form.save_m2m()."""
        obj = form.instance
        before = set(obj.enabled_clients.values_list("pk", flat=True)) if change else set()
        after = {app.pk for app in form.cleaned_data.get("enabled_clients", ())}
        changes = {pk: True for pk in after - before} | {pk: False for pk in before - after}
        if changes:
            connection_set_enabled_clients(actor=self.actor(request), connection=obj, changes=changes)
        for formset in formsets:  # pragma: no cover - no inlines
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        connection_delete(actor=self.actor(request), connection=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda connection: self.delete_model(request, connection))

    def _set_domain_level(self, request, queryset, value: bool) -> None:
        changed = 0
        for connection in queryset:
            if connection.is_domain_connection != value:
                connection_set_domain_level(
                    actor=self.actor(request), connection=connection, is_domain_connection=value
                )
                changed += 1
        verb = "promoted to" if value else "demoted from"
        self.message_user(request, f"{changed} connection(s) {verb} domain level.", messages.SUCCESS)

    @admin.action(description="Promote to domain level (open to every third-party app)", permissions=["change"])
    def promote(self, request, queryset):
        self._set_domain_level(request, queryset, True)

    @admin.action(description="Demote from domain level (asks to confirm)", permissions=["change"])
    def demote(self, request, queryset):
        if request.POST.get("confirm") == "yes":
            self._set_domain_level(request, queryset, False)
            return None
        return self.demotion_confirmation(request, queryset)

    def demotion_confirmation(self, request, queryset):
        """The step before a demotion: what it does to each domain-level connection selected, in words."""
        connections = [connection for connection in queryset if connection.is_domain_connection]
        if not connections:
            self.message_user(request, "None of the selected connections is at domain level.", messages.WARNING)
            return None
        apps = third_party_sign_in_apps()
        context = {
            **self.admin_site.each_context(request),
            "title": "Demote from domain level?",
            "opts": self.model._meta,
            "warnings": [demotion_warning(c, apps=apps, users=c.user_total) for c in connections],
            "connections": connections,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/oauthcore/connection/demote_confirmation.html", context)


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
    readonly_fields = ("display_user_id", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password", "display_user_id", "connection")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "email_verified")}),
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

    def get_readonly_fields(self, request, obj=None):
        # The connection is part of the user_id (the tokens' sub): fixed once the user exists.
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "connection") if obj is not None else readonly

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
            record_event(actor=admin_actor(request), action="user.update", target=obj, data={"changes": message})
        return super().log_change(request, obj, message)

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
