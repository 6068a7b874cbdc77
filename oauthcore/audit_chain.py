"""The audit log's hash chain: how an entry is hashed, how the sealer chains entries, how the chain is checked.

Every sealed entry stores ``sequence`` (1, 2, 3… with no gaps), ``previous_hash`` (the hash of
entry ``sequence - 1``, or zeros for the first) and ``entry_hash``, the SHA-256 of its own content
and ``previous_hash``. Editing an entry changes its hash; deleting one leaves a gap in the sequence
and a ``previous_hash`` that points at nothing; rewriting an entry *and* its hash breaks the link
from the entry after it; swapping two entries' places changes both hashes. ``verify_chain``
reports each of these, naming the entries.

Writers take no lock: ``record_event`` inserts a *pending* entry (no sequence, no hashes) in the
transaction of the change it describes, so an entry exists exactly when its change committed, and
a long transaction holds up nobody. The sealer (``seal``: the ``seal_audit_log`` beat task, and the
start of ``verify_audit_log``) then chains pending entries, under the one lock there is: the head
row, taken by the sealer only, so two sealers run one after the other and never give an entry two
places or two entries one place.

Order: the sealer chains the pending entries it can see, that is the committed ones (and never
tracks "sealed up to id N": on PostgreSQL ids are drawn when a row is inserted, not when it
commits, so a transaction that started first can commit an entry with a lower id after a newer
one was sealed). A pending entry stays pending until a sealer sees it, however old its id, so none
is ever skipped. This is commit order as far as the database lets anyone see it: an entry that
committed before a sealer run is chained before every entry that committed after that run; among
the entries that committed between two runs, which committed first is not recorded anywhere, and
they are chained by id. (Sealing below a transaction-id horizon, ``pg_snapshot_xmin``, was the
alternative: it orders by when transactions started, not committed, and any open transaction in
the whole database cluster, another database's included, would hold every entry back.)

A pending entry is protected like a sealed one on PostgreSQL: the trigger (migrations ``0007``
and ``0010``) refuses UPDATE and DELETE of entries, except the sealer's one change (a pending
entry gets its sequence and hashes, its content untouched) and what a transaction deliberately
opened with ``audit_maintenance()`` does. On SQLite, with no trigger, an entry deleted before it
was sealed leaves no trace; sealing every minute keeps that window short.

Hand-written because no maintained library fits: Django's audit packages (django-auditlog,
django-simple-history, django-pghistory) keep no hash chain, and the hash-chained logs on PyPI
write files or call a service, none chains rows inside this database's own transactions.
"""

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from oauthcore.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent

CONTENT_FIELDS = (
    "created_at",
    "action",
    "actor_type",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "reason",
    "data",
)
HASHED_FIELDS = ("sequence", *CONTENT_FIELDS, "previous_hash")
SEAL_FIELDS = ("sequence", "previous_hash", "entry_hash")
MAINTENANCE_SETTING = "portcullis.audit_maintenance"
SEAL_BATCH_SIZE = 500


def entry_digest(values: dict) -> str:
    """SHA-256 of an entry's content and its predecessor's hash, in a canonical JSON form."""
    content = dict(values)
    content["created_at"] = content["created_at"].isoformat()
    canonical = json.dumps([content[name] for name in HASHED_FIELDS], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- sealing ----------------------------------------------------------------------------------------


def _head_table() -> str:
    return connection.ops.quote_name(AuditChainHead._meta.db_table)


def _lock_head() -> tuple[int, str]:
    """Take the sealer's lock and read the chain's tip: ``(last sequence, last hash)``.

    The first statement is a write (``UPDATE … RETURNING``), so the lock (the row's on PostgreSQL,
    the database's on SQLite) is held before anything is read: a second sealer waits here and then
    reads the tip the first one left, never the same tip.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_head_table()} SET sequence = sequence WHERE id = 1 RETURNING sequence, entry_hash"  # noqa: S608
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    _create_head()
    return _lock_head()


def _create_head() -> None:
    """The head row is missing (a fresh or flushed database): start it from the last sealed entry, if any."""
    last = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", "entry_hash")
        .first()
    )
    sequence, entry_hash = last or (0, GENESIS_HASH)
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=1, sequence=sequence, entry_hash=entry_hash)
    except IntegrityError:  # another sealer created it first: use theirs
        if not AuditChainHead.objects.filter(pk=1).exists():
            raise


def _seal_batch(limit: int) -> int:
    sequence, previous_hash = _lock_head()
    pending = AuditEvent.objects.filter(sequence__isnull=True).order_by("id").values("id", *CONTENT_FIELDS)
    sealed = []
    for row in pending[:limit]:
        sequence += 1
        values = {**row, "sequence": sequence, "previous_hash": previous_hash}
        entry_hash = entry_digest(values)
        sealed.append(AuditEvent(id=row["id"], sequence=sequence, previous_hash=previous_hash, entry_hash=entry_hash))
        previous_hash = entry_hash
    if not sealed:
        return 0
    # Only still-pending rows are updated: were the lock ever bypassed, an entry would not be
    # sealed twice, and the count would say so.
    updated = AuditEvent.objects.filter(sequence__isnull=True).bulk_update(sealed, SEAL_FIELDS)
    if updated != len(sealed):
        raise RuntimeError(f"Sealed {updated} of {len(sealed)} audit entries: another sealer got past the lock.")
    AuditChainHead.objects.filter(pk=1).update(sequence=sequence, entry_hash=previous_hash)
    return len(sealed)


def seal(*, batch_size: int = SEAL_BATCH_SIZE) -> int:
    """Chain every committed pending entry, in commit order; return how many were sealed.

    One short transaction per batch, so the sealer's lock is never held for long and a large
    backlog is sealed bit by bit. Idempotent: with nothing pending, it changes nothing.
    """
    total = 0
    while True:
        with transaction.atomic():
            count = _seal_batch(batch_size)
        total += count
        if count < batch_size:
            return total


@contextmanager
def audit_maintenance():
    """The one deliberate way to change or delete audit entries on PostgreSQL (e.g. retention).

    Opens a transaction in which the append-only trigger lets UPDATE and DELETE through; anything
    done here shows up in ``verify_audit_log`` like any other change, as it should.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [MAINTENANCE_SETTING])
        yield


# -- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: list[str]
    pending: int = 0  # written, not sealed yet: nothing to check until they are

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the sealed chain in order and describe every entry that was edited, deleted or moved."""
    problems: list[str] = []
    previous_sequence, previous_hash = 0, GENESIS_HASH
    checked = 0
    sealed = AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence")
    for row in sealed.values("id", *HASHED_FIELDS, "entry_hash").iterator(chunk_size=batch_size):
        checked += 1
        sequence = row["sequence"]
        if entry_digest(row) != row["entry_hash"]:
            problems.append(f"Entry #{sequence} (id {row['id']}) was altered: its content does not match its hash.")
        if sequence != previous_sequence + 1:
            first, last = previous_sequence + 1, sequence - 1
            span = f"#{first}" if first == last else f"#{first} to #{last}"
            problems.append(f"Entries {span} are missing (deleted): entry #{sequence} follows #{previous_sequence}.")
        elif row["previous_hash"] != previous_hash:
            problems.append(
                f"The chain is broken between entries #{previous_sequence} and #{sequence}: "
                f"entry #{previous_sequence} was rewritten (its hash is not the one #{sequence} recorded)."
            )
        previous_sequence, previous_hash = sequence, row["entry_hash"]
    head = AuditChainHead.objects.filter(pk=1).values_list("sequence", "entry_hash").first()
    if head is not None and head[0] > previous_sequence:
        first = previous_sequence + 1
        span = f"#{first}" if first == head[0] else f"#{first} to #{head[0]}"
        problems.append(f"Entries {span} are missing (deleted): the chain's head is at #{head[0]}.")
    elif head is not None and head[0] == previous_sequence and head[1] != previous_hash:
        problems.append(
            f"Entry #{previous_sequence}, the last one, was rewritten: the chain's head recorded another hash."
        )
    pending = AuditEvent.objects.filter(sequence__isnull=True).count()
    return ChainReport(checked, problems, pending)
