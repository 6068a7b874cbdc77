"""Migration 0010: entries chained under the locking scheme stay verified, and the sealer goes on
from where that chain ended; migrating back first seals what is pending."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.audit_chain import CONTENT_FIELDS, entry_digest, seal, verify_chain
from oauthcore.models import AuditChainHead, AuditEvent

BEFORE = ("oauthcore", "0008_policy_version")
AFTER = ("oauthcore", "0010_audit_without_lock")


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


def chain_the_old_way(apps, count: int) -> None:
    """What 0007's ``append`` stored: every entry chained as it was written, the head at the tip."""
    event_model, head_model = apps.get_model("oauthcore", "AuditEvent"), apps.get_model("oauthcore", "AuditChainHead")
    head = head_model.objects.get_or_create(pk=1)[0]
    for n in range(count):
        content = {name: "" for name in CONTENT_FIELDS}
        content.update(created_at=timezone.now(), action="old.event", actor_type="system", reason=f"old {n}", data={})
        values = {**content, "sequence": head.sequence + 1, "previous_hash": head.entry_hash}
        row = event_model.objects.create(**values, entry_hash=entry_digest(values))
        head.sequence, head.entry_hash = row.sequence, row.entry_hash
        head.save()


@pytest.mark.django_db(transaction=True)
def test_entries_chained_before_the_migration_stay_verified_and_the_chain_goes_on():
    try:
        migrate(BEFORE)
        chain_the_old_way(MigrationExecutor(connection).loader.project_state(BEFORE).apps, 3)
        migrate(AFTER)
        report = verify_chain()
        assert report.intact and (report.checked, report.pending) == (3, 0)
        event = record_event(actor=Actor.system("tests"), action="new.event")
        assert seal() == 1
        event.refresh_from_db()
        assert event.sequence == 4 and event.previous_hash == AuditEvent.objects.get(sequence=3).entry_hash
        assert AuditChainHead.objects.get(pk=1).sequence == 4 and verify_chain().intact

        pending = record_event(actor=Actor.system("tests"), action="new.pending")
        migrate(BEFORE)  # sequence is required again there: the pending entry is sealed first
        assert AuditEvent.objects.filter(pk=pending.pk).values_list("sequence", flat=True).get() == 5
    finally:
        migrate(None)
    report = verify_chain()
    assert report.intact and (report.checked, report.pending) == (5, 0)
