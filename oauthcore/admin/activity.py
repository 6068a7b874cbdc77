"""Token activity: what the console shows for tokens that are not stored.

Client-credentials tokens are signed and checked, never saved (``oauthcore.client_tokens``), so
the console counts them instead: tokens issued and requests refused per minute, app and API,
read-only. The list flushes what Redis still holds first, so it is current to the minute.
"""

from django.contrib import admin

from oauthcore.activity import flush_token_activity
from oauthcore.admin.base import ReadOnlyAdminMixin
from oauthcore.models import TokenActivity


@admin.register(TokenActivity)
class TokenActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("bucket", "client_id", "audience", "issued", "denied")
    list_filter = ("audience",)
    search_fields = ("client_id", "audience")
    date_hierarchy = "bucket"
    ordering = ("-bucket", "client_id", "audience")
    show_full_result_count = False  # a count of every minute's row is not worth a full scan

    def changelist_view(self, request, extra_context=None):
        flush_token_activity(include_current_minute=True)
        return super().changelist_view(request, extra_context)
