"""The email outbox: every email Portcullis sends, queued in the transaction that calls for it."""

from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    """An email, written in the same transaction as the change that calls for it (an outbox).

    A task delivers it after the commit and marks it sent under a row lock, so a retried or
    duplicated task never sends it twice; a periodic sweep re-sends what a lost task left behind.
    Once sent, the body is dropped: it may hold a one-time link.
    """

    kind = models.CharField(max_length=64, help_text="What the email is for, e.g. partner.verify_email.")
    to = models.JSONField(default=list, help_text="Recipient addresses.")
    from_email = models.CharField(
        "from", max_length=254, blank=True, help_text="The sender; empty: the server's DEFAULT_FROM_EMAIL."
    )
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        # The table it had when the partner app owned the outbox: moving the model moved no row.
        db_table = "portal_outboundemail"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="outbound_email_unsent", condition=Q(sent_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.kind} to {', '.join(self.to)}"
