"""Access tokens from client credentials: signed, never stored.

A client-credentials token is an RS256 JWT (RFC 9068) that carries everything needed to check it,
so issuing one writes no row. What withdraws one before its expiry is kept instead, and read in
the one indexed statement that also reads the caller, wherever such a token is checked
(introspection, the Management API):

- a token its client revoked (RFC 7009), by ``jti`` (``RevokedAccessToken``), until it expires;
- "not before" stamps (``AccessCutoff``): ``tokens_revoke`` writes one per client and API (or for
  every client of an API) whenever it revokes client tokens, that is when a client grant is deleted
  or narrowed, an application deleted or suspended, an API deleted; ``application_update`` writes
  one when an app loses the client credentials grant or changes how it authenticates. The
  application itself must still exist and not be suspended.

A token's ``jti`` is time-ordered (``oauthcore.access_tokens.new_jti``): stamps compare its
millisecond of issue, not the whole seconds of ``iat``, so a token issued a moment after a
withdrawal is good and one issued a moment before is not.

User-delegated access tokens stay stored rows (``AccessToken``): consents, token families and
``/userinfo`` find them by user, and they are read by checksum as before.
"""

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import DataError, connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from oauthcore.access_tokens import CLIENT_CREDENTIALS_GTY, jti_issued_ms
from oauthcore.conf import portcullis_settings
from oauthcore.keys import verification_key
from oauthcore.models import AccessCutoff, Application, ResourceServer, RevokedAccessToken
from oauthcore.prepared import PreparedLookup

MAX_TOKEN_CHARACTERS = 8192  # far above any token this server signs: nothing longer is parsed


@dataclass(frozen=True)
class ClientToken:
    """The verified claims of a client-credentials token this server signed, not yet expired."""

    jti: str
    client_id: str
    audience: str
    scope: str
    issued_at: int
    expires_at: int
    issued_ms: int

    @property
    def subject(self) -> str:
        return f"{self.client_id}@clients"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def read_client_token(value: str, *, now: float | None = None) -> ClientToken | None:
    """The claims of ``value`` if it is a client-credentials token this server signed (RS256 with a
    published key, this issuer) that has not expired; None for anything else: a user-delegated
    token, an opaque string, a forged, altered or expired token. Withdrawals are checked apart."""
    if not value or len(value) > MAX_TOKEN_CHARACTERS or value.count(".") != 2:
        return None
    encoded_header, encoded_claims, encoded_signature = value.split(".")
    try:
        header = json.loads(_b64decode(encoded_header))
        if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            return None
        key = verification_key(header["kid"])
        if key is None:
            return None
        signing_input = f"{encoded_header}.{encoded_claims}".encode("ascii")
        key.verify(_b64decode(encoded_signature), signing_input, padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(_b64decode(encoded_claims))
    except (ValueError, binascii.Error, UnicodeError, InvalidSignature, RecursionError):
        return None
    if not isinstance(claims, dict) or claims.get("gty") != CLIENT_CREDENTIALS_GTY:
        return None
    jti, expires, audience = claims.get("jti"), claims.get("exp"), claims.get("aud")
    issued_ms = jti_issued_ms(jti) if isinstance(jti, str) else None
    if (
        issued_ms is None
        or claims.get("iss") != portcullis_settings.issuer
        or not isinstance(expires, int)
        or expires <= (time.time() if now is None else now)
        or not isinstance(audience, str)
        or not isinstance(claims.get("client_id"), str)
    ):
        return None
    return ClientToken(
        jti=jti,
        client_id=claims["client_id"],
        audience=audience,
        scope=str(claims.get("scope", "")),
        issued_at=int(claims.get("iat", expires)),
        expires_at=expires,
        issued_ms=issued_ms,
    )


# -- standing: one statement per check ---------------------------------------------------------


def _withdrawn(client_id, jti, audience, issued_ms):
    """Whether the token was revoked or issued before a stamp that covers it."""
    revoked = Exists(RevokedAccessToken.objects.filter(jti=jti))
    cut = Exists(
        AccessCutoff.objects.filter(
            Q(client_id=client_id) | Q(client_id=""), Q(audience=audience) | Q(audience=""), not_before_ms__gt=issued_ms
        )
    )
    return revoked, cut


def _issuer_with_standing(client_id, jti, audience, issued_ms) -> QuerySet:
    """The token's application, if it exists and is not suspended, with whether the token is withdrawn."""
    revoked, cut = _withdrawn(client_id, jti, audience, issued_ms)
    return Application.objects.filter(client_id=client_id, suspended=False).annotate(revoked=revoked, cut=cut)


def _caller_with_standing(caller_id, client_id, jti, audience, issued_ms) -> QuerySet:
    """The calling client, with the token's standing and whether the caller is its API's own client."""
    revoked, cut = _withdrawn(client_id, jti, audience, issued_ms)
    issuer = Exists(Application.objects.filter(client_id=client_id, suspended=False))
    owned = Exists(ResourceServer.objects.filter(identifier=audience, client=OuterRef("pk")))
    return Application.objects.filter(client_id=caller_id).annotate(
        issuer_live=issuer, revoked=revoked, cut=cut, owned=owned
    )


_MARKERS = ("\x1fclient_id", "\x1fjti", "\x1faudience", -0x1F1F1F1F1F)
_issuer_and_standing = PreparedLookup(_issuer_with_standing, *_MARKERS)
_caller_and_standing = PreparedLookup(_caller_with_standing, "\x1fcaller_id", *_MARKERS)


def _arguments(token: ClientToken) -> tuple:
    return (token.client_id, token.jti, token.audience, token.issued_ms)


def issuer_if_standing(token: ClientToken) -> Application | None:
    """The application ``token`` was issued to, when the token still stands; else None."""
    try:
        issuer = _issuer_and_standing.first(*_arguments(token))
    except (ValueError, DataError):  # a NUL byte in a claim: nothing matches it
        return None
    return issuer if issuer is not None and not (issuer.revoked or issuer.cut) else None


def caller_with_standing(caller_id: str, token: ClientToken) -> Application | None:
    """The application ``caller_id`` with ``token_stands`` and ``owns_token`` set, or None if unknown."""
    try:
        caller = _caller_and_standing.first(caller_id, *_arguments(token))
    except (ValueError, DataError):
        return None
    if caller is not None:
        caller.token_stands = bool(caller.issuer_live and not caller.revoked and not caller.cut)
        caller.owns_token = bool(caller.owned)
    return caller


# -- withdrawing ----------------------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def revoke_client_token(token: ClientToken) -> bool:
    """RFC 7009 for a client-credentials token; False when it was revoked already."""
    expires = datetime.fromtimestamp(token.expires_at, tz=UTC)
    _, created = RevokedAccessToken.objects.get_or_create(
        jti=token.jti, defaults={"client_id": token.client_id, "expires": expires}
    )
    return created


def withdraw_client_tokens(*, client_ids: list[str] | None, audience: str | None) -> None:
    """Withdraw every client-credentials token issued until now to each of ``client_ids`` (None:
    to every client) for ``audience`` (None: for every API). One upsert; call it inside the
    transaction of the change that withdraws them."""
    keys = (
        [(client_id, audience or "") for client_id in client_ids] if client_ids is not None else [("", audience or "")]
    )
    if not keys:
        return
    stamp = now_ms() + 1  # strictly after every token issued within this millisecond
    with connection.cursor() as cursor:
        for start in range(0, len(keys), BATCH_ROWS):
            batch = keys[start : start + BATCH_ROWS]
            cursor.execute(_stamp_sql(len(batch)), [value for key in batch for value in (*key, stamp)])


BATCH_ROWS = 500  # rows per statement: far below every backend's limit on parameters


def _stamp_sql(rows: int) -> str:
    table = connection.ops.quote_name(AccessCutoff._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * rows)
    # SQLite 3.24+ and PostgreSQL both take this; a stamp only moves forward.
    return (
        f"INSERT INTO {table} (client_id, audience, not_before_ms) VALUES {values} "  # noqa: S608 - no input in it
        f"ON CONFLICT (client_id, audience) DO UPDATE SET not_before_ms = "
        f"CASE WHEN excluded.not_before_ms > {table}.not_before_ms THEN excluded.not_before_ms "
        f"ELSE {table}.not_before_ms END"
    )


def forget_withdrawals(*, now: float | None = None, longest_lifetime: int) -> None:
    """Revocations of expired tokens, and stamps older than any token could live, are no longer needed."""
    moment = time.time() if now is None else now
    RevokedAccessToken.objects.filter(expires__lt=datetime.fromtimestamp(moment, tz=UTC)).delete()
    AccessCutoff.objects.filter(not_before_ms__lt=int((moment - longest_lifetime) * 1000)).delete()
