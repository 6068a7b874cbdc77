"""Users' consents: looked at and revoked (revoking also revokes the tokens issued under them)."""

from django.contrib import admin, messages

from consent.models import UserGrant
from consent.services import user_grant_revoke
from oauthcore.admin.base import ReadOnlyAdminMixin, ServiceAdminMixin
from oauthcore.admin.client_grants import scope_summary


@admin.register(UserGrant)
class UserGrantAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Only the user gives consent; a tenant admin may revoke it."""

    deletable = True
    list_display = ("user", "client", "audience", "scope_display", "created_at", "updated_at")
    list_select_related = ("user", "client")
    list_filter = (("client", admin.RelatedOnlyFieldListFilter), "audience", "updated_at")
    search_fields = ("user__username", "user__email", "user__uid", "client__name", "client__client_id", "audience")
    fields = ("id", "user", "client", "audience", "scope", "created_at", "updated_at")
    readonly_fields = fields
    date_hierarchy = "updated_at"
    actions = ("revoke",)

    @admin.display(description="scope")
    def scope_display(self, obj):
        return scope_summary(obj.scope)

    def delete_model(self, request, obj):
        user_grant_revoke(actor=self.actor(request), grant=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(
            request,
            queryset.select_related("user", "client"),
            lambda grant: user_grant_revoke(actor=self.actor(request), grant=grant),
        )

    @admin.action(description="Revoke selected consents and their tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        grants = list(queryset.select_related("user", "client"))
        for grant in grants:
            user_grant_revoke(actor=self.actor(request), grant=grant)
        self.message_user(
            request, f"Revoked {len(grants)} consent(s) and the tokens issued under them.", messages.SUCCESS
        )
