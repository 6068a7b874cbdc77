"""Rate limits on the endpoints, built on ``oauthcore.ratelimit``: the limits, who counts as one
caller, lockouts, and the 429 answers (always with ``Retry-After``).

The rates are settings (``PORTCULLIS["RATE_LIMITS"]``, see ``oauthcore.conf``) read on every
check, so a change applies at once. Counting happens in the shared cache; when it is down,
requests go through (see ``oauthcore.ratelimit``).

Where each limit is counted: ``TOKEN`` per client in the validator, ``LOGIN_*`` in
``oauthcore.signin``, ``MFA_LOCKOUT`` per account in ``oauthcore.views.mfa``, ``REGISTRATION`` per
tenant in ``views.registration``, ``SIGNUP`` per address, ``PORTAL_EMAIL`` per member in the portal's views,
``ACCOUNT_EMAIL`` per address and ``ACCOUNT_EMAIL_IP`` per caller in ``views.account_links`` and ``views.signup``.

Hand-written because django-axes locks out in the database with answers of its own, while these
lockouts count per name typed, per account and address in the shared cache, treat unknown names like
real ones, and answer in each endpoint's shape (OAuth JSON, RFC 7591, the sign-in page).
"""

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.http import JsonResponse
from oauthlib.oauth2.rfc6749 import errors

from oauthcore import ratelimit
from oauthcore.conf import portcullis_settings

logger = logging.getLogger(__name__)

TOO_MANY_REQUESTS = "too_many_requests"


@lru_cache(maxsize=64)
def _parse(text: str) -> ratelimit.Rate:
    return ratelimit.Rate.parse(text)


@dataclass(frozen=True)
class Limit:
    """One configured limit; its name is both its settings key and its counters' scope."""

    name: str

    @property
    def rate(self) -> ratelimit.Rate:
        return _parse(portcullis_settings.rate_limit(self.name))

    def hit(self, key: str) -> ratelimit.Verdict:
        return ratelimit.hit(self.name, key, self.rate)

    def reset(self, key: str) -> None:
        ratelimit.reset(self.name, key, self.rate)


TOKEN = Limit("token")
LOGIN_ADDRESS = Limit("login_address")
LOGIN_FAILURES = Limit("login_failures")
REGISTRATION = Limit("registration")
SIGNUP = Limit("signup")
PORTAL_EMAIL = Limit("portal_email")
ACCOUNT_EMAIL = Limit("account_email")
ACCOUNT_EMAIL_IP = Limit("account_email_ip")


def client_address(request) -> str:
    """The caller's IP address: ``REMOTE_ADDR``, or the address the nearest trusted proxy saw.

    With ``TRUSTED_PROXY_HOPS = n``, the n-th ``X-Forwarded-For`` entry from the right is the
    address that connected to the outermost trusted proxy; anything left of it is the client's
    own say and never trusted.
    """
    hops = portcullis_settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class Lockout:
    """After the limit's number of failures for a key, the key is refused for the limit's period.

    A lockout always ends: attempts while locked are refused without being counted, so nobody
    can extend it by hammering, and it expires after one period. A success before the lockout
    forgets the failures.
    """

    def __init__(self, limit: Limit):
        self.limit = limit

    def _key(self, key: str) -> str:
        return f"lockout:{self.limit.name}:{ratelimit.digest(key)}"

    def locked_for(self, key: str) -> int:
        """Seconds the key stays locked (0: not locked)."""
        try:
            until = cache.get(self._key(key))
        except Exception:
            logger.warning("Rate limiter unavailable for %s; lockout not checked.", self.limit.name, exc_info=True)
            return 0
        return max(0, math.ceil(until - time.time())) if until else 0

    def failure(self, key: str) -> int:
        """Count a failure; the seconds of the lockout it starts, or 0. With ``5/15m``, the fifth
        failure within 15 minutes starts a 15-minute lockout."""
        rate = self.limit.rate
        tolerated = ratelimit.Rate(rate.limit - 1, rate.period) if rate.limit > 1 else None
        if tolerated is not None and ratelimit.hit(self.limit.name, key, tolerated):
            return 0
        period = rate.period
        try:
            cache.set(self._key(key), time.time() + period, timeout=period)
        except Exception:
            logger.warning("Rate limiter unavailable for %s; no lockout.", self.limit.name, exc_info=True)
            return 0
        self.limit.reset(key)  # after the lockout, a fresh allowance
        return period

    def success(self, key: str) -> None:
        self.limit.reset(key)


LOGIN_LOCKOUT = Lockout(LOGIN_FAILURES)
MFA_LOCKOUT = Lockout(Limit("mfa_failures"))


# -- answers -------------------------------------------------------------------------------------


def retry_message(seconds: int) -> str:
    if seconds < 120:
        return f"Too many requests. Try again in {seconds} seconds."
    return f"Too many requests. Try again in {math.ceil(seconds / 60)} minutes."


def too_many_requests_json(request, retry_after: int) -> JsonResponse:
    """The OAuth error shape (RFC 6749 §5.2 fields) with HTTP 429 and ``Retry-After``."""
    response = JsonResponse({"error": TOO_MANY_REQUESTS, "error_description": retry_message(retry_after)}, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class TooManyRequestsError(errors.OAuth2Error):
    """Raised inside oauthlib (the token endpoint): HTTP 429 with ``Retry-After``."""

    error = TOO_MANY_REQUESTS
    status_code = 429

    def __init__(self, retry_after: int, request=None):
        self.retry_after = retry_after
        super().__init__(description=retry_message(retry_after), request=request)

    @property
    def headers(self):
        return {"Retry-After": str(self.retry_after), "Cache-Control": "no-store"}


def token_rate_check(client, request) -> None:
    """Count one token request for an authenticated client; raise a 429 over the limit."""
    verdict = TOKEN.hit(client.client_id)
    if not verdict:
        logger.info("Token rate limit reached for client %s.", client.client_id)
        raise TooManyRequestsError(verdict.retry_after, request=request)
