"""Verifying Portcullis access tokens at an API, framework-neutral.

A customer's API (Django, DRF, or any ASGI app such as an MCP server) describes itself with a
``ProtectedResource`` and checks each bearer token with a ``TokenVerifier``: an RS256 JWT of the
RFC 9068 profile (``typ`` ``at+jwt``), signed by a key from the issuer's JWKS, from that issuer,
for this API (``aud``), unexpired, carrying the scopes the call needs. Failures become RFC 6750
challenges whose ``resource_metadata`` points at the API's RFC 9728 metadata document, so a client
that knows nothing else can find the authorization server, register and get a token.

PyJWT checks the signature and the registered claims; what it has no option for stays here: the
``typ`` header, RFC 9068's ``client_id`` claim, and a key cache that refetches for an unknown ``kid``
at most every 30 seconds (PyJWT's ``PyJWKClient`` refetches for every unknown ``kid``, so forged
``kid`` values would turn each request into a fetch of the JWKS).
"""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt

ALGORITHM = "RS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
METADATA_PREFIX = "/.well-known/oauth-protected-resource"


class TokenError(Exception):
    """A request the API refuses, as RFC 6750 §3.1 names it."""

    error = "invalid_token"
    status = 401

    def __init__(self, description: str, *, scope: str = ""):
        super().__init__(description)
        self.description = description
        self.scope = scope


class MissingToken(TokenError):
    """No bearer token at all: the challenge carries no error code (RFC 6750 §3.1)."""

    error = ""


class InvalidToken(TokenError):
    error = "invalid_token"


class InsufficientScope(TokenError):
    error = "insufficient_scope"
    status = 403


@dataclass(frozen=True)
class ProtectedResource:
    """An API protected by Portcullis: its identifier (the tokens' ``aud``) and its issuer."""

    resource: str
    issuer: str
    scopes_supported: tuple[str, ...] = ()
    resource_name: str = ""
    jwks_uri: str = ""  # default: the issuer's /.well-known/jwks.json

    @property
    def keys_url(self) -> str:
        return self.jwks_uri or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"

    @property
    def metadata_path(self) -> str:
        """RFC 9728 §3.1: the well-known prefix, then the resource's own path (if any)."""
        path = urlsplit(self.resource).path.rstrip("/")
        return f"{METADATA_PREFIX}{path}"

    @property
    def metadata_url(self) -> str:
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def metadata(self) -> dict:
        """The RFC 9728 protected resource metadata document."""
        document = {
            "resource": self.resource,
            "authorization_servers": [self.issuer.rstrip("/")],
            "jwks_uri": self.keys_url,
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": [ALGORITHM],
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        if self.resource_name:
            document["resource_name"] = self.resource_name
        return document

    def challenge(self, failure: TokenError | None = None) -> str:
        """The ``WWW-Authenticate`` value for a refusal (RFC 6750 §3, RFC 9728 §5.1)."""
        params = [f'resource_metadata="{self.metadata_url}"']
        if failure is not None and failure.error:
            params.append(f'error="{failure.error}"')
            params.append(f'error_description="{_quote(failure.description)}"')
        if failure is not None and failure.scope:
            params.append(f'scope="{failure.scope}"')
        return "Bearer " + ", ".join(params)

    def error_body(self, failure: TokenError) -> dict:
        if not failure.error:
            return {"error": "invalid_request", "error_description": failure.description}
        return {"error": failure.error, "error_description": failure.description}


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check: who it acts for, which client, which scopes."""

    claims: dict
    subject: str
    client_id: str
    scopes: frozenset[str]
    token: str = field(repr=False, default="")

    @property
    def is_client_credentials(self) -> bool:
        return self.subject == f"{self.client_id}@clients"


class JWKSCache:
    """The issuer's signing keys, fetched once and refetched when a token names an unknown key
    (the issuer rotated) — at most once per ``min_refetch_seconds``, so forged ``kid`` values cannot
    turn every request into a fetch — and otherwise every ``max_age_seconds``."""

    def __init__(self, url: str, *, max_age_seconds: int = 3600, min_refetch_seconds: int = 30, timeout: float = 5.0):
        self.url = url
        self.max_age_seconds = max_age_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310 (configured URL)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            document = json.loads(response.read(1_000_000))
        keys = {}
        for data in document.get("keys", []):
            if data.get("kty") == "RSA" and data.get("kid") and data.get("use", "sig") == "sig":
                keys[data["kid"]] = jwt.PyJWK(data, algorithm=ALGORITHM)
        self._keys = keys
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = not self._fetched_at or age > self.max_age_seconds
            unknown = kid not in self._keys and age > self.min_refetch_seconds
            if stale or unknown:
                try:
                    self._fetch()
                except (OSError, ValueError) as exc:
                    if not self._keys:
                        raise InvalidToken("The signing keys cannot be fetched right now.") from exc
            return self._keys.get(kid)


class TokenVerifier:
    def __init__(self, resource: ProtectedResource, *, leeway_seconds: int = 30, keys: JWKSCache | None = None):
        self.resource = resource
        self.leeway = leeway_seconds
        self.keys = keys or JWKSCache(resource.keys_url)

    def verify(self, token: str | None, required_scopes=()) -> VerifiedToken:
        if not token:
            raise MissingToken("A bearer token is required.", scope=" ".join(required_scopes))
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is malformed.") from exc
        # Checked before the key is looked up, so that a token of another kind never costs a JWKS fetch.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The access token is not signed with RS256.")
        if str(header.get("typ", "")).lower() not in {TOKEN_TYPE, f"application/{TOKEN_TYPE}"}:
            raise InvalidToken("The token is not an access token (typ at+jwt).")
        key = self.keys.key(str(header.get("kid", "")))
        if key is None:
            raise InvalidToken("The access token is signed with an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.resource.resource,
                issuer=self.resource.issuer.rstrip("/"),
                leeway=self.leeway,
                # iat is informative here (RFC 9068 §2.2): a clock that runs behind must not refuse a token.
                options={"require": ["iss", "aud", "exp"], "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(_refusal(exc)) from exc
        if not claims.get("sub") or not claims.get("client_id"):
            raise InvalidToken("The access token is missing its subject or client.")
        scopes = frozenset(str(claims.get("scope", "")).split())
        check_scopes(scopes, required_scopes)
        return VerifiedToken(
            claims=claims,
            subject=str(claims.get("sub", "")),
            client_id=str(claims.get("client_id", "")),
            scopes=scopes,
            token=token,
        )


_MISSING_CLAIM = {
    "iss": "The access token is from another issuer.",
    "aud": "The access token is not for this resource.",
    "exp": "The access token has expired.",
}
_REFUSALS = (
    (jwt.ExpiredSignatureError, "The access token has expired."),
    (jwt.ImmatureSignatureError, "The access token is not valid yet."),
    (jwt.InvalidIssuerError, "The access token is from another issuer."),
    (jwt.InvalidAudienceError, "The access token is not for this resource."),
    (jwt.InvalidSignatureError, "The access token signature is invalid."),
    (jwt.InvalidAlgorithmError, "The access token is not signed with RS256."),
)


def _refusal(exc: jwt.PyJWTError) -> str:
    """What the API answers for a token PyJWT refused, in the words it always used."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return _MISSING_CLAIM.get(exc.claim, "The access token is malformed.")
    for kind, description in _REFUSALS:
        if isinstance(exc, kind):
            return description
    return "The access token is malformed."


def check_scopes(granted: frozenset[str], required) -> None:
    """Raise ``InsufficientScope`` unless every scope in ``required`` was granted."""
    missing = [scope for scope in required if scope not in granted]
    if missing:
        raise InsufficientScope(f"The access token lacks the scope: {' '.join(missing)}", scope=" ".join(required))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
