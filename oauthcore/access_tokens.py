"""RS256 JWT access tokens, RFC 9068 profile: what oauthlib calls to mint a token.

oauthlib generates the token before django-oauth-toolkit saves it, so everything the claims
need (audience, lifetime) is put in the oauthlib request's context by the validator beforehand.
"""

import base64
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from oauthcore.conf import portcullis_settings
from oauthcore.constants import MFA_ACR
from oauthcore.keys import active_signing_key
from oauthcore.policy_cache import cached_organization_name_in_tokens
from oauthcore.request_context import context_of


def userinfo_audience() -> str:
    return f"{portcullis_settings.issuer}/userinfo"


def token_lifetime(request) -> int:
    """Seconds an access token lives: the API's ``token_lifetime`` (set by the validator)."""
    return context_of(request).token_lifetime


def token_subject(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "pk", None) is not None and request.grant_type != "client_credentials":
        return user.user_id
    return f"{request.client.client_id}@clients"


def token_audience(request) -> str | list[str]:
    audience = context_of(request).audience
    if audience is None:
        return userinfo_audience()
    if "openid" in (request.scopes or ()):
        return [audience, userinfo_audience()]
    return audience


def organization_claims(request) -> dict:
    """``org_id`` of the organization the decision issued the token for (and ``org_name`` when the
    tenant's ``allow_organization_name_in_authentication_api`` is on); nothing without one."""
    decision = context_of(request).decision
    organization = decision.organization if decision is not None else None
    if organization is None:
        return {}
    claims = {"org_id": organization.id}
    if cached_organization_name_in_tokens(request.client):
        claims["org_name"] = organization.name
    return claims


def mfa_claims(request, *, with_acr: bool = False) -> dict:
    """``amr`` of a login that used a second factor (its methods: RFC 8176 values and ``mfa``), and
    for an ID token ``acr``, the multi-factor policy URI; nothing for a password-only login."""
    amr = list(context_of(request).amr)
    if "mfa" not in amr:
        return {}
    return {"amr": amr, "acr": MFA_ACR} if with_acr else {"amr": amr}


# Auth0's claim for the grant a token came from; a client-credentials token is not stored, and
# this signed claim is what tells the places that check tokens to check it without a row.
CLIENT_CREDENTIALS_GTY = "client-credentials"


def new_jti(now_ms: int) -> str:
    """32 hex digits, time-ordered: the millisecond of issue (12 digits), then 80 random bits.
    "Not before" stamps compare the millisecond (``oauthcore.client_tokens``)."""
    return f"{now_ms:012x}{secrets.token_hex(10)}"


def jti_issued_ms(jti: str) -> int | None:
    """The millisecond a ``new_jti`` value was made in, or None for another shape."""
    if len(jti) != 32:
        return None
    try:
        return int(jti[:12], 16)
    except ValueError:
        return None


def generate_access_token(request) -> str:
    key = active_signing_key(context_of(request).shared_stamp)
    now_ms = time.time_ns() // 1_000_000
    now = now_ms // 1000
    claims = {
        "iss": portcullis_settings.issuer,
        "sub": token_subject(request),
        "aud": token_audience(request),
        "iat": now,
        "exp": now + token_lifetime(request),
        "jti": new_jti(now_ms),
        "client_id": request.client.client_id,
        "scope": " ".join(request.scopes or ()),
    }
    if request.grant_type == "client_credentials":
        claims["gty"] = CLIENT_CREDENTIALS_GTY
    claims.update(organization_claims(request))
    claims.update(mfa_claims(request))
    return sign_rs256({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key.private_key)


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_rs256(header: dict, claims: dict, private_key) -> str:
    """A JWS compact serialization (RFC 7515), RS256: what jwcrypto makes, for a third of its CPU
    (it runs for every token)."""
    signing_input = b".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


def resource_matches(request_uri: str, audiences) -> bool:
    """DOT's audience check for bearer tokens presented to this server (``/userinfo``).

    A token bound to an API is also good at ``/userinfo`` when it carries ``openid`` (checked by
    the userinfo endpoint itself): Auth0 puts both in ``aud``. Anything else must be for the URI.
    """
    from urllib.parse import urlsplit

    if urlsplit(request_uri).path.rstrip("/") == "/userinfo":
        return True
    return any(request_uri.startswith(audience) for audience in audiences)
