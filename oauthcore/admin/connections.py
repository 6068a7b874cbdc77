"""Connections: the database one and enterprise ones (a customer's OpenID Connect or SAML provider).

Adding one asks for its strategy first, then shows that strategy's options, each field named as its
option (``oauthcore.federation.option_forms``), so that the strategy's verdict (``options.<name>``)
lands on the field. Secrets are write-only: a password input never rendered back, only their last
characters shown. An enterprise connection's page tells what its provider must be told (redirect
URI; entity ID, ACS URL and SP metadata) and has a *Test connection* button that signs in once at
the provider and shows what it sent, signing nobody in here.
"""

from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, ServiceRejected, adopt, counted, mask_secret
from oauthcore.conf import portcullis_settings
from oauthcore.constants import DATABASE_CONNECTION_NAME, ENTERPRISE_STRATEGIES, ConnectionStrategy
from oauthcore.federation import flow
from oauthcore.federation.base import FederationError
from oauthcore.federation.option_forms import (
    SECRET_FIELDS,
    field_name,
    initial_options,
    option_fields,
    options_from,
    prepare_secret_fields,
)
from oauthcore.models import Connection
from oauthcore.reach import connection_users, third_party_sign_in_apps
from oauthcore.services.connections import (
    connection_create,
    connection_delete,
    connection_set_domain_level,
    connection_set_enabled_clients,
    connection_update,
)

CONFIRM_DEMOTION_FIELD = "confirm_demotion"
STRATEGY_CHOICES = [
    (ConnectionStrategy.DATABASE, "Database", "Users with passwords kept here."),
    (ConnectionStrategy.OIDC, "OpenID Connect", "A customer's OpenID Connect provider (Okta, Entra ID, Google…)."),
    (ConnectionStrategy.SAML, "SAML 2.0", "A customer's SAML identity provider (AD FS, Shibboleth, Okta…)."),
]


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
    strategy_name = ConnectionStrategy.DATABASE  # set per strategy by ConnectionAdmin.get_form

    class Meta:
        model = Connection
        fields = ["name", "display_name", "is_domain_connection", "show_as_button", "is_enabled", "enabled_clients"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.instance.strategy = self.strategy_name  # chosen on the step before
        else:
            for name, value in initial_options(self.instance).items():
                self.initial.setdefault(name, value)
        prepare_secret_fields(self, self.strategy_name, self.instance)

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

    def options_changed(self) -> bool:
        return any(name in self.changed_data for name in option_fields(self.strategy_name))

    def options(self) -> dict:
        current = None if self.instance._state.adding else self.instance
        return options_from(self.cleaned_data, self.strategy_name, current)


def form_for(strategy: str) -> type[ConnectionForm]:
    attributes = {**option_fields(strategy), "strategy_name": strategy}
    return type(f"{strategy.capitalize()}ConnectionForm", (ConnectionForm,), attributes)


@contextmanager
def option_errors_to_form():
    """A service's refusal shown on the form; ``options.<name>`` on the field of that name."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            exc = ValidationError({field_name(key): value for key, value in exc.error_dict.items()})
        raise ServiceRejected(exc) from exc


@admin.register(Connection)
class ConnectionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ConnectionForm
    list_display = (
        "name",
        "display_name",
        "strategy",
        "is_enabled",
        "is_domain_connection",
        "enabled_client_count",
        "user_count",
        "created_at",
    )
    list_filter = ("strategy", "is_enabled", "is_domain_connection")
    search_fields = ("name", "display_name", "id")
    autocomplete_fields = ("enabled_clients",)
    actions = ("promote", "demote", "delete_selected")

    # -- which strategy, which fields ------------------------------------------------------------------

    def strategy_of(self, request, obj=None) -> str | None:
        if obj is not None:
            return obj.strategy
        strategy = request.GET.get("strategy")
        return strategy if strategy in ConnectionStrategy.values else None

    def add_view(self, request, form_url="", extra_context=None):
        if self.strategy_of(request) is None:  # first, the strategy
            if not self.has_add_permission(request):
                raise PermissionDenied
            context = {
                **self.admin_site.each_context(request),
                "title": "Add connection: which kind?",
                "opts": self.model._meta,
                "strategies": STRATEGY_CHOICES,
            }
            return TemplateResponse(request, "admin/oauthcore/connection/choose_strategy.html", context)
        return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = form_for(self.strategy_of(request, obj) or ConnectionStrategy.DATABASE)
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        strategy = self.strategy_of(request, obj)
        enterprise = strategy in ENTERPRISE_STRATEGIES
        if obj is None:
            main = ("name", "display_name", "strategy_label", "is_domain_connection")
        else:
            main = ("id", "name", "display_name", "strategy", "is_domain_connection", "who_signs_in")
            if request.method == "POST" and obj.is_domain_connection and not request.POST.get("is_domain_connection"):
                main = (*main, CONFIRM_DEMOTION_FIELD)  # a demotion sent: the form asks to confirm it
        if enterprise:
            main = (*main, "is_enabled", "show_as_button")
        fieldsets = [(None, {"fields": (*main, "enabled_clients")})]
        if enterprise:
            names = list(option_fields(strategy))
            if obj is not None:
                names = [f"{name}_display" if name in SECRET_FIELDS[strategy] else name for name in names]
                for secret in SECRET_FIELDS[strategy]:
                    names.insert(names.index(f"{secret}_display") + 1, secret)
            fieldsets.append(("Identity provider", {"fields": names}))
            if obj is not None:
                fieldsets.append(("What the identity provider needs", {"fields": ("provider_addresses",)}))
        if obj is not None:
            fieldsets.append(("Dates", {"fields": ("created_at", "updated_at")}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("strategy_label",)
        secrets = tuple(f"{name}_display" for name in SECRET_FIELDS.get(obj.strategy, ()))
        return ("id", "name", "strategy", "who_signs_in", "provider_addresses", *secrets, "created_at", "updated_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(client_total=Count("enabled_clients", distinct=True), user_total=Count("users", distinct=True))
        )

    # -- read-only displays ---------------------------------------------------------------------------------

    @admin.display(description="strategy")
    def strategy_label(self, obj):
        return obj.get_strategy_display()

    @admin.display(description="current client secret")
    def client_secret_display(self, obj):
        return mask_secret(obj.secrets.get("client_secret")) or "—"

    @admin.display(description="addresses to give the provider")
    def provider_addresses(self, obj):
        if obj.strategy == ConnectionStrategy.OIDC:
            rows = [("Redirect URI", f"{portcullis_settings.issuer}/login/callback")]
            return format_html('<dl class="provider-addresses">{}</dl>', _rows(rows))
        from oauthcore.federation.saml import acs_url, sp_entity_id

        rows = [("Entity ID", sp_entity_id(obj)), ("ACS URL", acs_url(obj))]
        metadata = f"{reverse('saml-metadata')}?{urlencode({'connection': obj.name, 'download': 1})}"
        return format_html(
            '<dl class="provider-addresses">{}</dl><p><a href="{}" class="button" download>{}</a></p>',
            _rows(rows),
            metadata,
            "Download SP metadata",
        )

    @admin.display(description="who signs in through it")
    def who_signs_in(self, obj):
        users = counted(connection_users(obj), "user")
        if not obj.is_enabled:
            return f"Nobody: the connection is off (its {users} cannot sign in)."
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

    # -- writes ----------------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = self.actor(request)
        with option_errors_to_form():
            if change:
                self._save_change(actor, obj, form)
                return
            created = connection_create(
                actor=actor,
                name=data["name"],
                strategy=form.strategy_name,
                display_name=data["display_name"],
                is_domain_connection=data["is_domain_connection"],
                show_as_button=data.get("show_as_button", True),
                is_enabled=data.get("is_enabled", True),
                options=form.options() if form.strategy_name in ENTERPRISE_STRATEGIES else None,
            )
        adopt(obj, created)

    def _save_change(self, actor, obj, form):
        data = form.cleaned_data
        domain_level = obj.is_domain_connection
        obj.is_domain_connection = form.initial["is_domain_connection"]  # changed by its own service
        fields = {
            name: data[name] for name in form.changed_data if name in ("display_name", "show_as_button", "is_enabled")
        }
        if form.options_changed():
            fields["options"] = form.options()
        if fields:
            connection_update(actor=actor, connection=obj, **fields)
        obj.is_domain_connection = domain_level
        if "is_domain_connection" in form.changed_data:
            connection_set_domain_level(actor=actor, connection=obj, is_domain_connection=data["is_domain_connection"])

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

    # -- the test sign-in ---------------------------------------------------------------------------------

    def get_urls(self):
        test = self.admin_site.admin_view(require_POST(self.test_view))
        return [path("<path:object_id>/test/", test, name="oauthcore_connection_test"), *super().get_urls()]

    def test_view(self, request, object_id):
        """Signs in once at the provider (a ``test`` flow): the result page shows what it sent."""
        connection = self.get_object(request, unquote(object_id))
        if connection is None or not connection.is_enterprise:
            raise Http404("No such enterprise connection.")
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        change_page = reverse("admin:oauthcore_connection_change", args=[quote(connection.pk)])
        try:
            return flow.start(request, connection, purpose="test", next_url=change_page)
        except FederationError as error:
            self.message_user(request, f"The test could not start: {error.message}", messages.ERROR)
            return HttpResponseRedirect(change_page)

    # -- domain level ---------------------------------------------------------------------------------------

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


def _rows(rows):
    return format_html_join("", "<dt>{}</dt><dd><code>{}</code></dd>", rows)
