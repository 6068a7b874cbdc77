"""The audit log's hash chain: how an entry is hashed, how the chain is extended, how it is checked.

Every entry stores ``sequence`` (1, 2, 3… with no gaps), ``previous_hash`` (the hash of entry
``sequence - 1``, or zeros for the first) and ``entry_hash``, the SHA-256 of its own content and
``previous_hash``. Editing an entry changes its hash; deleting one leaves a gap in the sequence
and a ``previous_hash`` that points at nothing; rewriting an entry *and* its hash breaks the link
from the entry after it. ``verify_chain`` reports each of these, naming the entries.

Concurrency: writers extend the chain through ``AuditChainHead``, one row holding the last
sequence and hash. Its first statement is an ``UPDATE … RETURNING``, which takes the row's write
lock (PostgreSQL) or the database write lock (SQLite) before anything is read, so two processes
never read the same tip. The lock lasts until the surrounding transaction commits: an entry is
written in the transaction of the change it describes, and the next writer waits for that commit.
That costs three statements per entry (advance the head, insert, store the new tip).

On PostgreSQL a trigger (migration ``0005``) refuses UPDATE and DELETE on audit entries, unless
the transaction deliberately opened ``audit_maintenance()``.
"""

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from oauthcore.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent

HASHED_FIELDS = (
    "sequence",
    "created_at",
    "action",
    "actor_type",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "reason",
    "data",
    "previous_hash",
)
MAINTENANCE_SETTING = "portcullis.audit_maintenance"


def entry_digest(values: dict) -> str:
    """SHA-256 of an entry's content and its predecessor's hash, in a canonical JSON form."""
    content = dict(values)
    content["created_at"] = content["created_at"].isoformat()
    canonical = json.dumps([content[name] for name in HASHED_FIELDS], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _head_table() -> str:
    return connection.ops.quote_name(AuditChainHead._meta.db_table)


def _advance_head() -> tuple[int, str]:
    """Lock the chain's tip and reserve the next sequence number: ``(sequence, previous hash)``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_head_table()} SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence, entry_hash"  # noqa: S608
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    _create_head()
    return _advance_head()


def _create_head() -> None:
    """The head row is missing (a fresh or flushed database): start it from the last entry, if any."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
    sequence, entry_hash = last or (0, GENESIS_HASH)
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=1, sequence=sequence, entry_hash=entry_hash)
    except Exception:  # another writer created it first: use theirs
        if not AuditChainHead.objects.filter(pk=1).exists():
            raise


def append(fields: dict) -> AuditEvent:
    """Insert an entry at the end of the chain. Call inside a transaction (``record_event`` does)."""
    sequence, previous_hash = _advance_head()
    values = {**fields, "sequence": sequence, "previous_hash": previous_hash}
    entry_hash = entry_digest(values)
    event = AuditEvent.objects.create(**values, entry_hash=entry_hash)
    AuditChainHead.objects.filter(pk=1).update(entry_hash=entry_hash)
    return event


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

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order and describe every entry that was edited or deleted."""
    problems: list[str] = []
    previous_sequence, previous_hash = 0, GENESIS_HASH
    checked = 0
    rows = AuditEvent.objects.order_by("sequence").values("id", *HASHED_FIELDS, "entry_hash")
    for row in rows.iterator(chunk_size=batch_size):
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
    return ChainReport(checked, problems)
