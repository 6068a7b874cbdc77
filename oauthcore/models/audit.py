"""The audit log: who did what to which object, and why a request was refused.

Entries are append-only and hash-chained: each one stores the SHA-256 of its own content and of
the entry before it (``oauthcore.audit_chain``), so ``manage.py verify_audit_log`` finds any entry
that was edited, deleted or reordered afterwards. An entry is written *pending* (no place in the
chain yet) by the transaction of the change it describes, with no lock; the sealer gives it its
``sequence`` and hashes once that transaction has committed. ``AuditChainHead`` is the chain's
tip: one row, locked by the sealer only, so that two sealers line up instead of forking the chain.
"""

from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64


class ActorType(models.TextChoices):
    USER = "user", "User"
    CLIENT = "client", "Client"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    # Hashed by the sealer as stored: set once by record_event, never changed.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_id = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The chain: 1, 2, 3… without gaps (a gap is a deleted entry), and the hashes linking them.
    # All three are empty while the entry is pending, until the sealer chains it.
    sequence = models.BigIntegerField(null=True, unique=True, editable=False)
    previous_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    entry_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
            # The latest entries of one action (the console's recent denials), newest first, read
            # from the index alone however long the log grows.
            models.Index(fields=["action", "created_at", "id"], name="audit_action_created"),
            # What the sealer reads on every run: only the few entries not chained yet.
            models.Index(fields=["id"], condition=models.Q(sequence__isnull=True), name="audit_pending"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}:{self.target_id}"


class AuditChainHead(models.Model):
    """The last sealed entry's sequence and hash. A single row (pk 1), created by the migration."""

    sequence = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self):
        return f"audit chain at {self.sequence}"
