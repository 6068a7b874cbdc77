"""Counting token activity (``TokenActivity``): every access token issued, every request denied.

``add_token_activity`` is the table's only writer: one ``INSERT … ON CONFLICT … DO UPDATE`` that
adds to the row of each hour, client and API (or creates it), so two requests counting at once
never lose a count and never read a row first. It takes any number of counts, so a caller that
gathers them (in batches, say) writes them with the same statement. ``count_issued`` (called
where every grant type saves its access token) and ``count_denied`` (with every denial's audit
entry) count one event each.

The reads for the console's charts are here too: daily sums over a range of hours, read through
the table's unique index (it leads with the hour), never from the audit log or the token tables.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from django.db import connection
from django.db.models import Case, CharField, F, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from oauthcore.audit import storable_text
from oauthcore.models import TokenActivity

BATCH_ROWS = 500  # rows per statement: far below every backend's limit on parameters


@dataclass(frozen=True)
class ActivityCount:
    """What to add to one hour's row of a client and an API."""

    client_id: str
    audience: str
    issued: int = 0
    denied: int = 0
    at: datetime | None = None  # when it happened; now when None


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in: the row it is counted in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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
            hour_of(count.at or now),
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
    """One access token issued to ``client_id`` for the API ``audience`` (None: /userinfo only)."""
    add_token_activity([ActivityCount(client_id=client_id, audience=audience or "", issued=1)])


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
