"""One Redis round trip for a client-credentials token, when Redis is the shared cache.

The short path (``oauthcore.views.client_credentials``) needs three things from Redis: that the
shared policy stamp its client was read under still stands, the request counted against the
client's rate limit, and the token counted for the console. Three round trips cost a sync worker
more waiting than the rest of the request costs it CPU, so one script does all three. The process
remembers the last stamp it saw and reads its client under it; the script compares stamps before
counting anything, so after a change the request is simply decided again under the new stamp, and
nothing is counted twice.

The counters are the rate limiter's (``oauthcore.ratelimit``: the same keys and sliding window)
and the activity counter's (``oauthcore.activity``: the same hash per minute and pending set).
"""

import time
from dataclasses import dataclass

from oauthcore import activity, ratelimit
from oauthcore.policy_cache import SHARED_STAMP_KEY
from oauthcore.shared_cache import redis_backend, registered_script

# KEYS: stamp, rate window now, rate window before, the minute's activity hash, pending minutes.
# ARGV: the stamp used, the window's TTL, count the token (1/0), overlap, limit, activity field,
# activity TTL, the minute. Returns {0, stamp} when the stamp changed, else {1, current, previous}.
_SCRIPT = """
local stamp = redis.call('GET', KEYS[1])
if stamp ~= ARGV[1] then return {0, stamp or false} end
local current = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
local previous = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[3] == '1' and previous * tonumber(ARGV[4]) + current <= tonumber(ARGV[5]) then
  redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
  redis.call('EXPIRE', KEYS[4], ARGV[7])
  redis.call('SADD', KEYS[5], ARGV[8])
  redis.call('EXPIRE', KEYS[5], ARGV[7])
end
return {1, current, previous}
"""


@dataclass(frozen=True)
class Counted:
    """The script's answer: ``stamp`` stood (and the request was counted), or the stamp now."""

    stood: bool
    stamp: str | None = None
    verdict: ratelimit.Verdict | None = None


def count_token_request(
    *, stamp: str, scope: str, client_id: str, rate: ratelimit.Rate, audience: str, issue: bool
) -> Counted | None:
    """Check ``stamp``, count the request under ``rate`` and, if it is allowed and ``issue``, the
    token for ``audience``. None when Redis is not the cache or fails (the caller goes the long way)."""
    backend = redis_backend()
    if backend is None:
        return None
    now = time.time()
    window = ratelimit.window_of(scope, client_id, rate, now=now)
    minute = int(now // 60)
    try:
        script = registered_script(backend, "token", _SCRIPT)
        keys = [
            backend.make_and_validate_key(SHARED_STAMP_KEY),
            backend.make_and_validate_key(window.current_key),
            backend.make_and_validate_key(window.previous_key),
            backend.make_and_validate_key(f"{activity.ACTIVITY_KEY}{minute}"),
            backend.make_and_validate_key(activity.PENDING_KEY),
        ]
        field = f"{client_id}{activity.FIELD_SEPARATOR}{audience}"
        args = [stamp, window.ttl, int(issue), window.overlap, rate.limit, field, activity.KEEP_UNFLUSHED_SECONDS]
        answer = script(keys=keys, args=[*args, minute])
    except Exception:
        return None
    if answer[0] == 0:
        return Counted(False, stamp=answer[1].decode() if answer[1] else None)
    return Counted(True, verdict=ratelimit.verdict(int(answer[1]), int(answer[2]), window.offset, rate))
