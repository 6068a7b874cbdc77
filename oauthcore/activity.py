"""Counting token activity (``TokenActivity``): every access token issued, every request denied.

``add_token_activity`` is the table's only writer: one ``INSERT … ON CONFLICT … DO UPDATE`` that
adds to the row of each minute, client and API (or creates it), so two requests counting at once
never lose a count and never read a row first. It takes any number of counts, so a caller that
gathers them writes them with the same statement. ``count_issued`` (called wherever an access
token is issued) counts in Redis when Redis is the shared cache, flushed into the table in
batches (``flush_token_activity``); ``count_denied`` (with every denial's audit entry, a write
already) counts in the table at once.

The reads for the console's charts are here too: daily sums over a range of minutes, read through
the table's unique index (it leads with the minute), never from the audit log or the token tables.
"""

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.db.models import Case, CharField, F, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from oauthcore.audit import storable_text
from oauthcore.models import TokenActivity
from oauthcore.shared_cache import redis_client, registered_script

logger = logging.getLogger(__name__)

BATCH_ROWS = 500  # rows per statement: far below every backend's limit on parameters


@dataclass(frozen=True)
class ActivityCount:
    """What to add to one minute's row of a client and an API."""

    client_id: str
    audience: str
    issued: int = 0
    denied: int = 0
    at: datetime | None = None  # when it happened; now when None


def minute_of(moment: datetime) -> datetime:
    """The start of the UTC minute ``moment`` falls in: the row it is counted in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _field_text(name: str, value: str | None) -> str:
    """A key as its column stores it (the audit log's rule: no NUL, cut to the column's length)."""
    return storable_text(value or "", TokenActivity._meta.get_field(name).max_length)


@cache  # one text per batch size: a token's single count reuses it
def _upsert_sql(rows: int) -> str:
    table = connection.ops.quote_name(TokenActivity._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * rows)
    # Both SQLite (3.24+) and PostgreSQL take this form; the table's name in the SET clause is the
    # row already stored, ``excluded`` the one proposed.
    return (
        f"INSERT INTO {table} (bucket, client_id, audience, issued, denied) VALUES {values} "  # noqa: S608 - no input in it
        "ON CONFLICT (bucket, client_id, audience) DO UPDATE SET "
        f"issued = {table}.issued + excluded.issued, denied = {table}.denied + excluded.denied"
    )


def add_token_activity(counts: Iterable[ActivityCount]) -> None:
    """Add the counts to their rows, one statement per ``BATCH_ROWS`` distinct rows.

    Counts for the same row are summed first: one statement may not update a row twice.
    """
    now = timezone.now()
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for count in counts:
        if count.issued < 0 or count.denied < 0:
            raise ValueError("Token activity only grows: counts cannot be negative.")
        key = (
            minute_of(count.at or now),
            _field_text("client_id", count.client_id),
            _field_text("audience", count.audience),
        )
        summed[key][0] += count.issued
        summed[key][1] += count.denied
    rows = [
        (connection.ops.adapt_datetimefield_value(bucket), client_id, audience, issued, denied)
        for (bucket, client_id, audience), (issued, denied) in summed.items()
        if issued or denied
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            cursor.execute(_upsert_sql(len(batch)), [value for row in batch for value in row])


def count_issued(*, client_id: str, audience: str | None) -> None:
    """One access token issued to ``client_id`` for the API ``audience`` (None: /userinfo only).

    With Redis as the shared cache, counted there once the transaction that issued the token
    commits (at once outside one: client credentials write nothing else), and added to the table
    in batches by ``flush_token_activity``. Otherwise, or when Redis fails, counted in the table
    in the issuing transaction."""
    audience = audience or ""
    if isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache):
        transaction.on_commit(lambda: _count_in_redis(client_id, audience) or _count_in_table(client_id, audience))
    else:
        _count_in_table(client_id, audience)


def _count_in_table(client_id: str, audience: str) -> None:
    add_token_activity([ActivityCount(client_id=client_id, audience=audience, issued=1)])


# -- tokens issued, counted in Redis and flushed in batches -------------------------------------
# One hash per minute (``activity:{minute since the epoch}``), a field per client and API: one
# round trip per token, no database write. ``flush_token_activity`` moves each finished minute
# into the table (the Celery beat task, every minute; the console's dashboard before it reads).

ACTIVITY_KEY = "activity:"
PENDING_KEY = "activity:pending"  # the minutes with counts not flushed yet
CLAIMED_KEY = "activity:claimed"  # the hashes a flush took and has not committed yet
FIELD_SEPARATOR = "\x1f"  # a control character, in no client_id and no API identifier
KEEP_UNFLUSHED_SECONDS = 7 * 86400  # a hash nobody flushed for a week is let go
# One round trip per token: the count, and its minute noted as pending.
_COUNT_SCRIPT = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
"""
# A flush takes a minute's hash: no longer pending, renamed (increments arriving afterwards start a
# new hash and note the minute again), and noted as claimed until its counts are committed.
_CLAIM_SCRIPT = """
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('SADD', KEYS[4], KEYS[3])
redis.call('EXPIRE', KEYS[4], ARGV[2])
return 1
"""


def _redis():
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend, redis_client(backend)


def _key(backend, name: str) -> str:
    return backend.make_and_validate_key(name)


def _count_in_redis(client_id: str, audience: str) -> bool:
    try:
        backend = caches[DEFAULT_CACHE_ALIAS]
        minute = int(time.time() // 60)
        registered_script(backend, "activity_count", _COUNT_SCRIPT)(
            keys=[_key(backend, f"{ACTIVITY_KEY}{minute}"), _key(backend, PENDING_KEY)],
            args=[f"{client_id}{FIELD_SEPARATOR}{audience}", KEEP_UNFLUSHED_SECONDS, minute],
        )
        return True
    except Exception:
        logger.warning("Redis unavailable: token counted in the database instead.", exc_info=True)
        return False


def flush_token_activity(*, include_current_minute: bool = False) -> int:
    """Add the counts kept in Redis to the table; the number of tokens added.

    Only the pending minutes are read (no scan of the keyspace). A minute's hash is claimed first
    (``_CLAIM_SCRIPT``), so no increment is lost; it is deleted only once its counts are committed,
    and a claimed hash left by a flush that failed is flushed by the next one."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return 0
    backend, client = _redis()
    claimed_set = _key(backend, CLAIMED_KEY)
    current = int(time.time() // 60)
    claim = registered_script(backend, "activity_claim", _CLAIM_SCRIPT)
    for raw_minute in client.smembers(_key(backend, PENDING_KEY)):
        minute = int(raw_minute)
        if minute == current and not include_current_minute:
            continue
        claimed = _key(backend, f"{ACTIVITY_KEY}{minute}:claimed:{uuid.uuid4().hex}")
        keys = [_key(backend, PENDING_KEY), _key(backend, f"{ACTIVITY_KEY}{minute}"), claimed, claimed_set]
        claim(keys=keys, args=[minute, KEEP_UNFLUSHED_SECONDS])
    added = 0
    for raw_key in client.smembers(claimed_set):
        key = raw_key.decode()
        minute = int(key.rsplit(":claimed:", 1)[0].rsplit(":", 1)[1])
        at = datetime.fromtimestamp(minute * 60, tz=UTC)
        counts = []
        for field, value in client.hgetall(key).items():
            client_id, _, audience = field.decode().partition(FIELD_SEPARATOR)
            counts.append(ActivityCount(client_id=client_id, audience=audience, issued=int(value), at=at))
        with transaction.atomic():
            add_token_activity(counts)
        client.delete(key)
        client.srem(claimed_set, key)
        added += sum(count.issued for count in counts)
    return added


def count_denied(*, client_id: str | None, audience: str | None) -> None:
    """One request refused, for the client and the API it named (None for either when unknown)."""
    add_token_activity([ActivityCount(client_id=client_id or "", audience=audience or "", denied=1)])


# -- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyActivity:
    """Daily sums by client or by API: the busiest ``keys`` apart, everything else as ``others``."""

    keys: tuple[str, ...]  # the busiest first
    by_day: dict[tuple[date, str | None], tuple[int, int]]  # (day, key or None for others) → (issued, denied)
    has_others: bool


def daily_activity(*, since: datetime, by: str, top: int) -> DailyActivity:
    """Issued and denied per day since ``since`` (UTC days), for the ``top`` busiest values of ``by``
    (``client_id`` or ``audience``) and the rest summed as others: two statements, whatever the traffic."""
    if by not in ("client_id", "audience"):
        raise ValueError(f"Token activity is counted by client_id or audience, not {by}.")
    window = TokenActivity.objects.filter(bucket__gte=since)
    busiest = (
        window.values(by)
        .annotate(total=Sum(F("issued") + F("denied")))
        .order_by("-total", by)
        .values_list(by, flat=True)[: top + 1]
    )
    ranked = list(busiest)
    keys = tuple(ranked[:top])
    if not keys:
        return DailyActivity(keys=(), by_day={}, has_others=False)
    series = Case(When(**{f"{by}__in": keys}, then=F(by)), default=Value(None), output_field=CharField())
    rows = (
        window.annotate(day=TruncDate("bucket"), series=series)
        .values("day", "series")
        .annotate(issued=Sum("issued"), denied=Sum("denied"))
        .order_by("day", "series")
    )
    by_day = {(row["day"], row["series"]): (row["issued"], row["denied"]) for row in rows}
    return DailyActivity(keys=keys, by_day=by_day, has_others=len(ranked) > top)
