"""End users' one-time links, read-only: support sees which links were sent, for which app, and
whether they were used. The token is never stored, so no link can be copied from here."""

from django.contrib import admin

from oauthcore.admin.base import ReadOnlyAdminMixin
from oauthcore.models import AccountLink


@admin.register(AccountLink)
class AccountLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "purpose", "user", "application", "expires_at", "used_at")
    list_filter = ("purpose", ("used_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "application")
    search_fields = ("user__username", "user__email", "email")
    date_hierarchy = "created_at"
    fields = (
        "purpose",
        "user",
        "email",
        "application",
        "result_url",
        "mark_email_verified",
        "include_email_in_redirect",
        "created_at",
        "expires_at",
        "used_at",
    )
    readonly_fields = fields
