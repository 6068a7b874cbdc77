"""The audit log's hash chain: entries are written pending and sealed in order; raw SQL edits,
deletes and reorderings of sealed entries are caught, and named, by verify_audit_log."""

import itertools
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection, connections, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.audit_chain import audit_maintenance, seal, verify_chain
from oauthcore.models import AuditChainHead, AuditEvent

ACTOR = Actor.system("tests")
TABLE = AuditEvent._meta.db_table


def write_pending(count: int, start: int = 0) -> list[AuditEvent]:
    return [
        record_event(actor=ACTOR, action="test.event", reason=f"entry {n}", data={"n": n})
        for n in range(start, start + count)
    ]


def write(count: int, start: int = 0) -> list[AuditEvent]:
    """Entries written and sealed, as the beat task would have sealed them a minute later."""
    events = write_pending(count, start)
    seal()
    for event in events:
        event.refresh_from_db()
    return events


def run_command(*args) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("verify_audit_log", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_command() -> str:
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError, match="Audit log tampered with"):
        call_command("verify_audit_log", stdout=StringIO(), stderr=err)
    return err.getvalue()


def tamper(sql: str, params=()) -> None:
    """What someone with database access would do; on PostgreSQL they must get past the trigger."""
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_an_untouched_log_verifies_and_entries_link_in_order():
    events = write(5)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert events[0].previous_hash == "0" * 64
    assert all(b.previous_hash == a.entry_hash for a, b in itertools.pairwise(events))
    out, err = run_command()
    assert out.strip() == "Audit log intact: 5 entries, chain verified." and not err
    assert AuditChainHead.objects.get(pk=1).sequence == 5


@pytest.mark.django_db
def test_an_edited_entry_is_named():
    events = write(4)
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["nothing to see", events[1].pk])  # noqa: S608
    err = failing_command()
    assert f"Entry #2 (id {events[1].pk}) was altered" in err
    assert "#1 " not in err and "#3 " not in err


@pytest.mark.django_db
def test_edited_json_data_is_caught():
    events = write(3)
    changed = '{"n": 99}'
    tamper(f"UPDATE {TABLE} SET data = %s WHERE id = %s", [changed, events[2].pk])  # noqa: S608
    assert "Entry #3" in failing_command()


@pytest.mark.django_db
def test_a_deleted_entry_leaves_a_named_gap():
    events = write(5)
    tamper(f"DELETE FROM {TABLE} WHERE id IN (%s, %s)", [events[1].pk, events[2].pk])  # noqa: S608
    assert "Entries #2 to #3 are missing (deleted): entry #4 follows #1." in failing_command()


@pytest.mark.django_db
def test_deleting_the_newest_entries_is_caught_by_the_head():
    events = write(3)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])  # noqa: S608
    assert "Entries #3 are missing (deleted): the chain's head is at #3." in failing_command()


@pytest.mark.django_db
def test_an_entry_rewritten_with_a_recomputed_hash_breaks_the_next_link():
    from oauthcore.audit_chain import HASHED_FIELDS, entry_digest

    events = write(3)
    row = AuditEvent.objects.filter(pk=events[1].pk).values(*HASHED_FIELDS).get()
    row["reason"] = "rewritten"
    forged = entry_digest(row)
    tamper(
        f"UPDATE {TABLE} SET reason = %s, entry_hash = %s WHERE id = %s",  # noqa: S608
        ["rewritten", forged, events[1].pk],
    )
    report = verify_chain()
    assert report.problems == [
        "The chain is broken between entries #2 and #3: entry #2 was rewritten (its hash is not the one #3 recorded)."
    ]


@pytest.mark.django_db
def test_the_chain_goes_on_after_a_flushed_head():
    """A lost head row is rebuilt from the last entry, never restarted at 1."""
    write(2)
    AuditChainHead.objects.all().delete()
    assert write(1, start=2)[0].sequence == 3
    assert verify_chain().intact


@pytest.mark.django_db
def test_entries_are_written_pending_and_sealed_in_the_order_they_committed():
    events = write_pending(3)
    assert [(e.sequence, e.previous_hash, e.entry_hash) for e in events] == [(None, "", "")] * 3
    report = verify_chain()
    assert (report.intact, report.checked, report.pending) == (True, 0, 3)
    out, err = run_command("--no-seal")
    assert (
        out.strip() == "Audit log intact: 0 entries, chain verified. 3 newer entries pending (written, not sealed yet)."
    )
    out, err = run_command()  # seals first
    assert out.strip() == "Audit log intact: 3 entries, chain verified." and not err
    assert list(AuditEvent.objects.order_by("sequence").values_list("id", flat=True)) == [e.pk for e in events]
    hashes = list(AuditEvent.objects.order_by("sequence").values_list("entry_hash", flat=True))
    assert seal() == 0  # nothing pending: nothing changes
    assert list(AuditEvent.objects.order_by("sequence").values_list("entry_hash", flat=True)) == hashes


@pytest.mark.django_db
def test_the_sealer_goes_on_from_the_head_in_batches():
    write(2)
    later = write_pending(5, start=2)
    assert seal(batch_size=2) == 5
    assert [AuditEvent.objects.get(pk=e.pk).sequence for e in later] == [3, 4, 5, 6, 7]
    assert verify_chain().intact and AuditChainHead.objects.get(pk=1).sequence == 7


@pytest.mark.django_db
def test_reordered_entries_are_named():
    events = write(4)
    a, b = events[1], events[2]
    # Three steps: the unique sequence refuses a swap in place.
    tamper(f"UPDATE {TABLE} SET sequence = -1 WHERE id = %s", [a.pk])  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = 2 WHERE id = %s", [b.pk])  # noqa: S608
    tamper(f"UPDATE {TABLE} SET sequence = 3 WHERE id = %s", [a.pk])  # noqa: S608
    err = failing_command()
    assert f"Entry #2 (id {b.pk}) was altered" in err and f"Entry #3 (id {a.pk}) was altered" in err
    assert f"id {events[0].pk})" not in err and f"id {events[3].pk})" not in err


@pytest.mark.django_db
def test_an_entry_tampered_with_before_it_was_sealed_is_not_named_later():
    """Documented limit: before sealing there is no hash to compare with (on PostgreSQL the trigger
    refuses the change itself, see test_audit_postgresql); sealing is what makes an edit visible."""
    (event,) = write_pending(1)
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["edited while pending", event.pk])  # noqa: S608
    seal()
    assert verify_chain().intact
    tamper(f"UPDATE {TABLE} SET reason = %s WHERE id = %s", ["edited once sealed", event.pk])  # noqa: S608
    assert "Entry #1" in failing_command()


@pytest.mark.django_db
def test_text_postgresql_would_refuse_is_stored_safely():
    event = record_event(
        actor=Actor("client", "x" * 400, "nul\x00label"),
        action="test.event",
        reason="nul \x00 in reason",
        data={"value": "a\x00b", 1: "int key"},
    )
    seal()
    event.refresh_from_db()
    assert event.actor_label == "nul\ufffdlabel" and len(event.actor_id) == 255
    assert event.data == {"value": "a\ufffdb", "1": "int key"}
    assert verify_chain().intact


@pytest.mark.django_db
def test_postgresql_refuses_updates_and_deletes_of_entries():
    (event,) = write(1)
    if connection.vendor != "postgresql":  # no trigger there: the chain alone tells
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
        assert "Entry #1" in failing_command()
        return
    for sql in (f"UPDATE {TABLE} SET reason = 'x' WHERE id = %s", f"DELETE FROM {TABLE} WHERE id = %s"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert verify_chain().intact


def with_busy_retry(write_one):
    # The tests' in-memory SQLite (shared cache) fails at once where a database file would
    # wait for the lock (Django's busy timeout): wait here instead. PostgreSQL just waits.
    for _ in range(200):
        try:
            return write_one()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    """Several threads, each with its own database connection, writing at once."""
    barrier = threading.Barrier(6)
    errors = []

    def writer(n):
        try:
            barrier.wait()
            for i in range(15):

                def write_one(i=i):
                    with transaction.atomic():
                        record_event(actor=ACTOR, action="test.concurrent", data={"writer": n, "i": i})

                with_busy_retry(write_one)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    seal()
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, 91))
    assert verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_two_sealers_running_at_once_while_entries_are_written_seal_each_entry_once():
    """Sealers (the beat task on two nodes, verify_audit_log) racing each other and the writers."""
    writing = threading.Event()
    errors = []

    def writer():
        try:
            for i in range(60):
                with_busy_retry(lambda i=i: record_event(actor=ACTOR, action="test.raced", data={"i": i}))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            writing.set()
            connections.close_all()

    def sealer():
        try:
            while not writing.is_set():
                with_busy_retry(lambda: seal(batch_size=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer), threading.Thread(target=sealer), threading.Thread(target=sealer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    seal()
    rows = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "data"))
    assert [sequence for sequence, _data in rows] == list(range(1, 61))
    assert sorted(data["i"] for _sequence, data in rows) == list(range(60))
    report = verify_chain()
    assert report.intact and report.pending == 0
