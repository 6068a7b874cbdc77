"""The second step of a login, as session state: who typed a good password and is waiting for
their second factor, and how the session's user authenticated (RFC 8176 ``amr`` values).

A password alone never logs in a user who needs a second factor: ``login()`` waits until the
factor passed. Until then the session holds only the pending user (for ``PENDING_SECONDS``), and
every page sees an anonymous visitor.
"""

import time
from urllib.parse import parse_qs, urlsplit

from oauthcore.constants import MFA_ACR, MfaPolicy
from oauthcore.services.mfa import has_second_factor, tenant_mfa_policy

PENDING_KEY = "portcullis_mfa_pending"
AMR_KEY = "portcullis_amr"
PENDING_SECONDS = 600

# RFC 8176 §2 values, and Auth0's "mfa" beside them whenever a second factor was used.
PASSWORD = "pwd"  # noqa: S105 (the amr value, not a password)
OTP = "otp"
HARDWARE_KEY = "hwk"
MFA = "mfa"

VERIFY = "verify"  # the user has a factor: they use it
ENROLL = "enroll"  # the user has none and must enroll one now


def acr_asks_mfa(acr_values: str | None) -> bool:
    return MFA_ACR in (acr_values or "").split()


def next_asks_mfa(next_url: str | None) -> bool:
    """Whether the page a login returns to (an /authorize request) sends ``acr_values`` asking for MFA."""
    query = parse_qs(urlsplit(next_url or "").query)
    return any(acr_asks_mfa(value) for value in query.get("acr_values", []))


def second_step(user, *, acr_mfa: bool, policy: str | None = None) -> str | None:
    """What the login still needs of ``user`` after the password: VERIFY, ENROLL or nothing.

    ``never``: nothing, unless the request asks for MFA (``acr_values``); ``optional``: the users who
    enrolled a factor use it; ``always``: everyone, and who has no factor enrolls one first."""
    policy = policy or tenant_mfa_policy()
    required = acr_mfa or policy == MfaPolicy.ALWAYS
    if has_second_factor(user):
        return VERIFY if required or policy == MfaPolicy.OPTIONAL else None
    return ENROLL if required else None


def mfa_required(*, acr_mfa: bool, policy: str | None = None) -> bool:
    """Whether a session must have used a second factor for this request (``/authorize``)."""
    return acr_mfa or (policy or tenant_mfa_policy()) == MfaPolicy.ALWAYS


# -- the session ----------------------------------------------------------------------------------


def start_pending(request, user, *, next_url: str, step: str, methods: list[str]) -> None:
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "next": next_url,
        "step": step,
        "methods": methods,
        "at": time.time(),
    }


def pending(request) -> dict | None:
    """The pending second step of this session, or None (none, or older than PENDING_SECONDS)."""
    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict) or time.time() - state.get("at", 0) > PENDING_SECONDS:
        return None
    return state


def clear_pending(request) -> None:
    request.session.pop(PENDING_KEY, None)


def session_methods(request) -> list[str]:
    methods = request.session.get(AMR_KEY)
    return list(methods) if isinstance(methods, list) else []


def remember_methods(request, methods: list[str]) -> None:
    request.session[AMR_KEY] = list(dict.fromkeys(methods))


def with_second_factor(methods: list[str], factor: str | None) -> list[str]:
    """``methods`` and the factor just used (None for a recovery code, which RFC 8176 has no word
    for), then ``mfa``."""
    return list(dict.fromkeys([*methods, *([factor] if factor else []), MFA]))


def used_second_factor(methods) -> bool:
    return MFA in (methods or ())
