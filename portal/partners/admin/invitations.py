"""Invitations a partner's members sent from the portal: read-only here, and revocable."""

from django.contrib import admin

from oauthcore.admin.base import ReadOnlyAdminMixin, ServiceAdminMixin
from portal.partners.models import Invitation
from portal.partners.services.invitations import invitation_revoke


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Partners invite their colleagues in the portal; here tenant admins see them and may revoke one."""

    list_display = ("email", "partner", "role", "invited_by", "created_at", "expires_at", "accepted_at")
    list_select_related = ("partner", "invited_by")
    list_filter = ("role", ("accepted_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "partner__name")
    fields = ("partner", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "accepted_by")
    readonly_fields = fields
    deletable = True

    def delete_model(self, request, obj):
        invitation_revoke(actor=self.actor(request), invitation=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset.select_related("partner"), lambda i: self.delete_model(request, i))
