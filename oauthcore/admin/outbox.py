"""The email outbox, read-only: tenant admins follow each email's delivery here."""

from django.contrib import admin

from oauthcore.admin.base import ReadOnlyAdminMixin
from oauthcore.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What Portcullis has sent or still has to send; written only by oauthcore.outbox."""

    list_display = ("created_at", "kind", "recipients", "subject", "sent_at", "attempts")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "to", "message_id")
    date_hierarchy = "created_at"
    fields = ("kind", "to", "from_email", "subject", "message_id", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields

    @admin.display(description="to")
    def recipients(self, obj):
        return ", ".join(obj.to)
