"""Rate limits shared by every process, kept in Django's cache.

A limit such as ``5/s`` or ``10/m`` is checked with a sliding window: the count of the current
fixed window plus the previous window's count weighted by how much of it still overlaps the last
``period`` seconds. That keeps a client from doubling its rate across a window boundary while
costing one round trip per check on Redis (a script), a few on other caches.

The cache must be shared between the web processes for a limit to mean anything: configure
``CACHE_URL`` (Redis) in production. When the cache cannot be reached the check lets the request
through and logs it: an outage of the limiter must not become an outage of the server.

Hand-written because django-ratelimit and DRF's throttles count per view before it runs (fixed
windows, or a list of timestamps per caller), while these limits are counted inside oauthlib's client
authentication and the sign-in flow, once the caller is known, in one Redis round trip.
"""

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """``"5/s"``, ``"10/m"``, ``"100/h"``, ``"20/10m"`` (20 per 10 minutes)."""
        match = RATE_RE.match(str(text))
        if not match:
            raise ValueError(f"A rate looks like 5/s, 10/m or 100/h, not {text!r}.")
        count, multiple, unit = match.groups()
        period = int(multiple or 1) * PERIODS[unit]
        if int(count) < 1 or period < 1:
            raise ValueError(f"A rate allows at least one request per period, not {text!r}.")
        return cls(limit=int(count), period=period)

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}s"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until a request would be allowed again (denials only)

    def __bool__(self) -> bool:
        return self.allowed


def digest(key: str) -> str:
    """Keys may hold addresses or usernames: cache keys carry only a hash of them."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _window_key(scope: str, key: str, window: int) -> str:
    return f"ratelimit:{scope}:{digest(key)}:{window}"


def hit(scope: str, key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Count one request for ``key`` under ``scope`` and say whether ``rate`` still allows it.

    A refused request is counted too, so a client that keeps hammering stays refused.
    """
    at = window_of(scope, key, rate, now=now)
    try:
        current, previous = _count(at.current_key, at.previous_key, ttl=at.ttl)
    except Exception:  # the cache is down: let the request through, and say so
        logger.warning("Rate limiter unavailable for %s; request allowed.", scope, exc_info=True)
        return Verdict(True)
    return verdict(current, previous, at.offset, rate)


@dataclass(frozen=True)
class Window:
    """Where one request for ``key`` is counted now: the keys of the current and the previous
    window (before the cache's prefix), how far into the current one it is, and how much of the
    previous one still weighs."""

    current_key: str
    previous_key: str
    offset: float
    overlap: float
    ttl: int


def window_of(scope: str, key: str, rate: Rate, *, now: float | None = None) -> Window:
    now = time.time() if now is None else now
    window, offset = divmod(now, rate.period)
    window = int(window)
    return Window(
        _window_key(scope, key, window),
        _window_key(scope, key, window - 1),
        offset,
        1 - offset / rate.period,
        rate.period * 2 + 1,
    )


def verdict(current: int, previous: int, offset: float, rate: Rate) -> Verdict:
    """The sliding window's answer for a request counted as the ``current``-th of its window."""
    overlap = 1 - offset / rate.period
    if previous * overlap + current <= rate.limit:
        return Verdict(True)
    return Verdict(False, retry_after=_retry_after(previous, current, overlap, offset, rate))


# INCR the current window, refresh its expiry, read the previous window: one round trip.
# Django stores integers as plain Redis integers, so the counters stay readable by cache.get().
_COUNT_SCRIPT = """
local current = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {current, redis.call('GET', KEYS[2]) or 0}
"""


def _count(current_key: str, previous_key: str, *, ttl: int) -> tuple[int, int]:
    """Add one to the current window's counter; return it with the previous window's count."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        # The token endpoint counts every request: a script kept with the backend's client, since
        # Django builds a new Redis client (and its table of 169 reply callbacks) for every call.
        current, previous = _count_script(backend)(
            keys=[backend.make_and_validate_key(current_key), backend.make_and_validate_key(previous_key)],
            args=[ttl],
        )
        return int(current), int(previous)
    backend.add(current_key, 0, timeout=ttl)
    return backend.incr(current_key), backend.get(previous_key) or 0


def _count_script(backend: RedisCache):
    client = backend._cache  # one per backend instance (per thread), holding the connection pools
    script = getattr(client, "portcullis_count_script", None)
    if script is None:  # registering computes the SHA locally; EVALSHA loads the script on first use
        script = client.portcullis_count_script = client.get_client(write=True).register_script(_COUNT_SCRIPT)
    return script


def _retry_after(previous: int, current: int, overlap: float, offset: float, rate: Rate) -> int:
    """Seconds until the weighted count drops back under the limit, assuming no further requests."""
    if current >= rate.limit:  # only the next window forgets the current one's requests
        return max(1, math.ceil(rate.period - offset))
    # previous * (overlap - t / period) + current <= limit - 1 (the next request must fit)
    needed = previous * overlap + current - (rate.limit - 1)
    seconds = needed / previous * rate.period if previous else rate.period - offset
    return max(1, math.ceil(min(seconds, rate.period - offset)))


def reset(scope: str, key: str, rate: Rate, *, now: float | None = None) -> None:
    """Forget ``key``'s recent requests under ``scope`` (e.g. after a successful sign-in)."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    try:
        cache.delete_many([_window_key(scope, key, window), _window_key(scope, key, window - 1)])
    except Exception:
        logger.warning("Rate limiter unavailable for %s; nothing reset.", scope, exc_info=True)
