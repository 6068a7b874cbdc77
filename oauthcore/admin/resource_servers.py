"""APIs (resource servers) with their scopes inline."""

from django.contrib import admin
from django.db.models import Count

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, adopt, service_errors_to_form
from oauthcore.admin.deletion import DeletionSummaryMixin, resource_server_deletion_summary
from oauthcore.models import ResourceServer, ResourceServerScope
from oauthcore.services.resource_servers import (
    POLICY_OPENNESS,
    UPDATABLE_FIELDS,
    resource_server_create,
    resource_server_delete,
    resource_server_update,
)

IMMUTABLE_FIELDS = ("identifier", "is_system", "signing_alg")


ACCESS_FIELDSET = (
    "Access",
    {
        "fields": (
            "user_policy",
            "client_policy",
            "allow_offline_access",
            "skip_consent_for_verifiable_first_party_clients",
            "client",
        )
    },
)


class ResourceServerForm(ServiceModelForm):
    class Meta:
        model = ResourceServer
        fields = [
            "name",
            "identifier",
            "signing_alg",
            "token_lifetime",
            "allow_offline_access",
            "skip_consent_for_verifiable_first_party_clients",
            "user_policy",
            "client_policy",
            "client",
        ]

    def clean(self):
        cleaned_data = super().clean()
        stored = self.instance
        if not stored._state.adding and stored.is_system:
            # The service's rule, checked here so it shows on the field.
            for name in ("user_policy", "client_policy"):
                value = cleaned_data.get(name)
                if value and POLICY_OPENNESS[value] > POLICY_OPENNESS[self.initial.get(name)]:
                    self.add_error(name, "The access policy of a system API cannot be loosened.")
        return cleaned_data


class ScopeInline(admin.TabularInline):
    model = ResourceServerScope
    fields = ("value", "description")
    extra = 1

    def _editable(self, obj):
        return obj is None or not obj.is_system

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(ResourceServer)
class ResourceServerAdmin(DeletionSummaryMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = ResourceServerForm
    deletion_summary = staticmethod(resource_server_deletion_summary)
    inlines = (ScopeInline,)
    list_display = (
        "name",
        "identifier",
        "is_system",
        "scope_count",
        "user_policy",
        "client_policy",
        "token_lifetime",
        "allow_offline_access",
        "client",
    )
    list_select_related = ("client",)
    list_filter = ("is_system", "user_policy", "client_policy", "allow_offline_access")
    search_fields = ("name", "identifier", "scopes__value")
    autocomplete_fields = ("client",)
    fieldsets = (
        (None, {"fields": ("name", "identifier", "id", "is_system", "signing_alg", "token_lifetime")}),
        ACCESS_FIELDSET,
    )
    add_fieldsets = (
        (None, {"fields": ("name", "identifier", "signing_alg", "token_lifetime")}),
        ACCESS_FIELDSET,
    )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return ("id", *IMMUTABLE_FIELDS) if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(scope_total=Count("scopes"))

    @admin.display(description="scopes", ordering="scope_total")
    def scope_count(self, obj):
        return obj.scope_total

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_system)

    # -- writes: the API and its scopes are saved together, by one service call ----------------------------

    def save_model(self, request, obj, form, change):
        """Deferred to save_related, where the scope formset is known."""

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        scope_formsets = [fs for fs in formsets if fs.model is ResourceServerScope]
        before = {s.value: s for s in obj.scopes.all()} if change else {}
        scopes = None if obj.is_system else _scopes_from(scope_formsets)
        data = form.cleaned_data
        with service_errors_to_form():
            if change:
                fields = {name: data[name] for name in form.changed_data if name in UPDATABLE_FIELDS}
                resource_server_update(actor=self.actor(request), resource_server=obj, scopes=scopes, **fields)
            else:
                created = resource_server_create(
                    actor=self.actor(request),
                    identifier=data["identifier"],
                    name=data["name"],
                    scopes=scopes or (),
                    **{name: data[name] for name in form.fields if name in UPDATABLE_FIELDS - {"identifier", "name"}},
                )
                adopt(obj, created)
        form.save_m2m()
        after = {s.value: s for s in obj.scopes.all()}
        for formset in scope_formsets:  # what the change message (the history) reports
            formset.new_objects = [after[value] for value in after.keys() - before.keys()]
            formset.deleted_objects = [before[value] for value in before.keys() - after.keys()]
            formset.changed_objects = [
                (after[value], ["description"])
                for value in after.keys() & before.keys()
                if after[value].description != before[value].description
            ]

    def delete_model(self, request, obj):
        resource_server_delete(actor=self.actor(request), resource_server=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(
            request, queryset, lambda api: resource_server_delete(actor=self.actor(request), resource_server=api)
        )


def _scopes_from(formsets) -> list[tuple[str, str]]:
    scopes = []
    for formset in formsets:
        for form in formset.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or not data.get("value") or formset._should_delete_form(form):
                continue
            scopes.append((data["value"], data.get("description", "")))
    return scopes
