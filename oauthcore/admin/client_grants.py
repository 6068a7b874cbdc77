"""Client grants: which application may reach which API, for which subject type, with which scopes."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from oauthcore.admin.base import LinesField, ServiceAdminMixin, ServiceModelForm, adopt, service_errors_to_form
from oauthcore.constants import SubjectType
from oauthcore.models import ClientGrant
from oauthcore.reach import apps_reached_by_default_grant
from oauthcore.services.client_grants import (
    UPDATABLE_FIELDS,
    client_grant_create,
    client_grant_delete,
    client_grant_update,
)

IMMUTABLE_FIELDS = ("client", "default_for", "resource_server", "subject_type")
CONFIRM_FIELD = "confirm_every_machine_app"


def scope_summary(scope: list[str], limit: int = 4) -> str:
    if len(scope) <= limit:
        return " ".join(scope)
    return f"{' '.join(scope[:limit])} … (+{len(scope) - limit})"


def words(values: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(values) < 2:
        return "".join(values)
    return f"{', '.join(values[:-1])} and {values[-1]}"


def default_grant_warning(*, api, scope: list[str], all_scopes: bool) -> str:
    """What saving a default client grant does, in words, with how many apps it reaches today."""
    count = apps_reached_by_default_grant(audience=api.identifier, subject_type=SubjectType.CLIENT)
    if all_scopes:
        what = f"every scope of {api.name}, present and future,"
    else:
        what = f"{words(scope)} on {api.name}" if scope else f"tokens for {api.name} (no scope)"
    return (
        f"Every third-party machine-to-machine app — {count} today, and every new one — will get {what} "
        "without review. Tick the box to confirm."
    )


class ClientGrantForm(ServiceModelForm):
    scope = LinesField(rows=2, help_text="Scope values of the API, one per line or separated by spaces.")
    # Shown (by ClientGrantAdmin) once a save would give every third-party machine-to-machine app more.
    confirm_every_machine_app = forms.BooleanField(
        required=False,
        label="Yes, give it to all of them",
        help_text=(
            "They get it without review: no tenant admin looks at the app (the apps partners make in the "
            "portal included), and no user is asked."
        ),
    )

    class Meta:
        model = ClientGrant
        fields = [
            "client",
            "default_for",
            "resource_server",
            "subject_type",
            "scope",
            "allow_all_scopes",
            "organization_usage",
            "allow_any_organization",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            # Inline rows (the standalone admin shows these read-only instead).
            for name in IMMUTABLE_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True

    def clean(self):
        cleaned_data = super().clean()
        if self.instance._state.adding:
            self._check_duplicate(cleaned_data)
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()  # the model's own checks first: the warning names what would be saved
        self._check_confirmed(self.cleaned_data)

    def widens_default_client_grant(self, data) -> tuple[list[str], bool] | None:
        """The scopes (and whether all of them) a save newly gives every third-party machine-to-machine
        app, or None when it gives them nothing new (not such a default grant, or nothing added)."""
        adding = self.instance._state.adding
        default_for = data.get("default_for") if adding else self.instance.default_for
        subject_type = data.get("subject_type") if adding else self.instance.subject_type
        if not default_for or subject_type != SubjectType.CLIENT:
            return None
        scope, all_scopes = data.get("scope") or [], bool(data.get("allow_all_scopes"))
        if adding:
            return scope, all_scopes
        if self.initial.get("allow_all_scopes"):  # the stored grant (the instance holds the new values)
            return None  # already everything
        added = [value for value in scope if value not in (self.initial.get("scope") or [])]
        return (added, all_scopes) if added or all_scopes else None

    def _check_confirmed(self, data) -> None:
        widened = self.widens_default_client_grant(data)
        api = data.get("resource_server") if self.instance._state.adding else self.instance.resource_server
        if widened is None or api is None or data.get(CONFIRM_FIELD) or self.errors:
            return
        scope, all_scopes = widened
        self.add_error(CONFIRM_FIELD, default_grant_warning(api=api, scope=scope, all_scopes=all_scopes))

    def _check_duplicate(self, data) -> None:
        """The same check as the service's, shown on the audience field instead of a 500."""
        client, default_for = data.get("client"), data.get("default_for") or None
        resource_server, subject_type = data.get("resource_server"), data.get("subject_type")
        if resource_server is None or not subject_type or (client is None) == (default_for is None):
            return
        exists = ClientGrant.objects.filter(
            client_id=client.pk if client is not None else None,
            default_for=default_for,
            resource_server_id=resource_server.identifier,
            subject_type=subject_type,
        ).exists()
        if exists:
            message = (
                "A client grant for this application, API and subject type already exists."
                if client is not None
                else "A default grant for this API and subject type already exists."
            )
            self.add_error("resource_server", message)


class ClientGrantInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data:
                continue
            if self.can_delete and self._should_delete_form(form):
                if form.instance.is_system:
                    raise ValidationError("System client grants cannot be deleted.")
                continue
            key = (getattr(data.get("resource_server"), "pk", None), data.get("subject_type"))
            if key in seen:
                raise ValidationError("Only one grant per API and subject type.")
            seen.add(key)


def save_client_grant_forms(actor, formset, *, client) -> None:
    """Save an inline formset of one application's grants through the services."""
    formset.save(commit=False)
    for grant in formset.deleted_objects:
        client_grant_delete(actor=actor, grant=grant)
    for grant, changed in formset.changed_objects:
        fields = {name: getattr(grant, name) for name in changed if name in UPDATABLE_FIELDS}
        if fields:
            client_grant_update(actor=actor, grant=grant, **fields)
    for grant in formset.new_objects:
        created = client_grant_create(
            actor=actor,
            audience=grant.resource_server_id,
            client=client,
            subject_type=grant.subject_type,
            **{name: getattr(grant, name) for name in UPDATABLE_FIELDS},
        )
        adopt(grant, created)


@admin.register(ClientGrant)
class ClientGrantAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ClientGrantForm
    list_display = (
        "id",
        "client",
        "default_for",
        "resource_server",
        "subject_type",
        "scope_display",
        "allow_all_scopes",
        "organization_usage",
        "is_system",
        "created_at",
    )
    list_select_related = ("client", "resource_server")
    list_filter = (
        "subject_type",
        "default_for",
        "allow_all_scopes",
        "organization_usage",
        "is_system",
        "resource_server",
    )
    search_fields = ("id", "client__name", "client__client_id", "resource_server__identifier", "resource_server__name")
    autocomplete_fields = ("client",)
    ordering = ("-created_at",)
    add_fields = tuple(ClientGrantForm.Meta.fields)
    change_fields = ("id", *add_fields[:4], "who_gets_it", *add_fields[4:], "is_system", "created_at", "updated_at")
    change_readonly_fields = ("id", *IMMUTABLE_FIELDS, "who_gets_it", "is_system", "created_at", "updated_at")

    def get_fields(self, request, obj=None):
        fields = self.change_fields if obj is not None else self.add_fields
        if self._may_need_confirmation(request, obj):
            fields = (*fields, CONFIRM_FIELD)
        return fields

    @staticmethod
    def _may_need_confirmation(request, obj) -> bool:
        """The confirmation box appears on a form sent back for a default grant (the form decides
        whether it is needed: a default client grant given, or widened); a page just opened has none."""
        if request.method != "POST":
            return False
        return bool(obj.default_for if obj is not None else request.POST.get("default_for"))

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly_fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_system)

    @admin.display(description="who gets it")
    def who_gets_it(self, obj):
        if obj is None or not obj.default_for:
            return "This application only." if obj is not None else "—"
        count = apps_reached_by_default_grant(audience=obj.resource_server_id, subject_type=obj.subject_type)
        if obj.subject_type == SubjectType.CLIENT:
            return (
                f"Every third-party machine-to-machine app without a grant of its own — {count} today, and every "
                "new one — without review."
            )
        return (
            f"Every third-party app that signs users in without a grant of its own — {count} today, and every "
            "new one; each user still sees the consent screen."
        )

    @admin.display(description="scope")
    def scope_display(self, obj):
        return "(all scopes)" if obj.allow_all_scopes else scope_summary(obj.scope)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with service_errors_to_form():
            if change:
                fields = {name: data[name] for name in form.changed_data if name in UPDATABLE_FIELDS}
                if fields:
                    client_grant_update(actor=self.actor(request), grant=obj, **fields)
                return
            grant = client_grant_create(
                actor=self.actor(request),
                audience=data["resource_server"].identifier,
                client=data.get("client"),
                default_for=data.get("default_for") or None,
                subject_type=data["subject_type"],
                **{name: data[name] for name in UPDATABLE_FIELDS},
            )
        adopt(obj, grant)

    def delete_model(self, request, obj):
        client_grant_delete(actor=self.actor(request), grant=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda grant: client_grant_delete(actor=self.actor(request), grant=grant))
