"""The back channel: the code exchanged at the provider's token endpoint, its ID token verified
(OpenID Connect Core 1.0, 3.1.3.7), and the userinfo response when the mapping needs it (5.3).

Signatures are checked by joserfc against the provider's published keys (its ``jwks_uri``),
cached in the shared cache and fetched again once when a token names a key we do not know (the
provider rotated its keys). Only asymmetric algorithms are accepted: ``none`` proves nothing, and an
HS256 token would be keyed with the client secret, which is not the provider's alone.
"""

import hashlib
import hmac
import logging
import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from oauthcore.conf import portcullis_settings
from oauthcore.federation.base import FederationError
from oauthcore.federation.http import get_json, quoted, read_body, timeout, transport_error
from oauthcore.federation.oidc_options import ID_TOKEN_ALGORITHMS
from oauthcore.models import Connection
from oauthcore.sealed import SealBroken

logger = logging.getLogger(__name__)

JWKS_CACHE_SECONDS = 600
KEY_TYPES = {"RS256": (RSAKey, None), "PS256": (RSAKey, None), "ES256": (ECKey, "P-256")}
FAILED = "The identity provider's answer could not be verified, so you were not signed in."


def redirect_uri() -> str:
    return f"{portcullis_settings.issuer}/login/callback"


def _failure(reason: str, detail: str) -> FederationError:
    return FederationError(FAILED, reason=reason, detail=detail)


def exchange_code(connection: Connection, *, code: str, code_verifier: str) -> dict:
    """The token response for ``code`` (RFC 6749, 4.1.3, with RFC 7636's verifier)."""
    options, metadata = connection.options, connection.options["oidc_metadata"]
    url = metadata["token_endpoint"]
    try:
        client_secret = connection.secrets.get("client_secret", "")
    except SealBroken as error:
        raise FederationError(
            f"The connection {connection.label} cannot be used: its administrator must enter its client secret again.",
            reason="misconfigured",
            detail=str(error),
        ) from error
    session = OAuth2Session(
        client_id=options["client_id"],
        client_secret=client_secret,
        token_endpoint_auth_method=options.get("token_endpoint_auth_method", "client_secret_basic"),
    )
    deadline = time.monotonic() + float(portcullis_settings.FEDERATION_TIMEOUT)

    def bounded(response):
        # The token response is read here, as it arrives, before authlib parses it.
        response._content = read_body(response, url=url, what="token endpoint", deadline=deadline)
        return response

    session.register_compliance_hook("access_token_response", bounded)
    try:
        with session:
            token = session.fetch_token(
                url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri(),
                code_verifier=code_verifier,
                timeout=timeout(),
                allow_redirects=False,
                stream=True,
            )
    except OAuthError as error:
        raise FederationError(
            f"The identity provider refused the sign-in ({quoted(error.error)}).",
            reason="upstream_error",
            detail=f"token endpoint: {quoted(error.error)} {quoted(error.description, 200)}",
        ) from error
    except requests.HTTPError as error:
        raise FederationError(
            f"The identity provider answered HTTP {error.response.status_code} at its token endpoint.",
            reason="upstream_error",
            detail=f"{url}: {error.response.text[:200]!r}",
        ) from error
    except requests.RequestException as error:
        raise transport_error(error, "token endpoint", url) from error
    except ValueError as error:  # a body that is not a JSON object
        raise FederationError(
            "The identity provider's token endpoint did not answer with a token.",
            reason="upstream_error",
            detail=f"{url}: {error}",
        ) from error
    if not isinstance(token.get("id_token"), str):
        raise FederationError(
            "The identity provider sent no ID token: check that the connection's scope contains openid.",
            reason="upstream_error",
            detail=f"{url}: token response without id_token",
        )
    return dict(token)


def verify_id_token(connection: Connection, id_token: str, *, nonce: str, started_at: int | None) -> dict:
    """The ID token's claims, once its signature and every claim we rely on are checked."""
    options, metadata = connection.options, connection.options["oidc_metadata"]
    try:
        header = jws.extract_compact(id_token.encode()).headers()
    except (JoseError, ValueError, TypeError) as error:
        raise _failure("bad_token", f"not a signed JWT: {error}") from error
    alg = header.get("alg")
    if alg not in ID_TOKEN_ALGORITHMS:
        raise _failure("bad_token", f"ID token alg {quoted(alg)} is not one of {', '.join(ID_TOKEN_ALGORITHMS)}")
    claims = _verified_claims(metadata["jwks_uri"], id_token, header, alg)

    now, skew = int(time.time()), int(portcullis_settings.FEDERATION_CLOCK_SKEW)
    if claims.get("iss") != metadata["issuer"]:
        raise _failure("wrong_issuer", f"iss {quoted(claims.get('iss'), 200)} is not {metadata['issuer']}")
    _check_audience(claims, options["client_id"])
    for name in ("exp", "iat"):
        if not _numeric(claims.get(name)):
            raise _failure("bad_token", f"ID token without a numeric {name}")
    if claims["exp"] <= now - skew:
        raise _failure("token_expired", f"exp {claims['exp']} is before now ({now}) less {skew} s")
    if claims["iat"] > now + skew or (_numeric(claims.get("nbf")) and claims["nbf"] > now + skew):
        raise _failure("token_not_yet_valid", f"iat {claims['iat']} is after now ({now}) plus {skew} s")
    if started_at is not None and claims["iat"] < started_at - skew:
        raise _failure("token_too_old", f"iat {claims['iat']} is before the sign-in started ({started_at})")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
        raise _failure("nonce_mismatch", "the ID token's nonce is not the one this sign-in sent")
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise _failure("bad_token", "ID token without a usable sub")
    return claims


def _check_audience(claims: dict, client_id: str) -> None:
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise _failure("wrong_audience", f"aud {quoted(audience, 200)} does not name client {client_id}")
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != client_id:
        raise _failure("wrong_audience", f"azp {quoted(azp, 200)} is not client {client_id} (aud {audiences!r:.200})")


def _numeric(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _verified_claims(jwks_uri: str, id_token: str, header: dict, alg: str) -> dict:
    keys, fresh = _key_set(jwks_uri, refresh=False)
    candidates = _candidates(keys, header, alg)
    if not candidates and not fresh:
        keys, fresh = _key_set(jwks_uri, refresh=True)
        candidates = _candidates(keys, header, alg)
    if not candidates:
        raise _failure("bad_token", f"signed with key {quoted(header.get('kid'))}, which the provider does not publish")
    for key in candidates:
        try:
            token = jwt.decode(id_token, key, algorithms=[alg])
        except JoseError:
            continue
        return dict(token.claims)
    raise _failure("bad_token", f"bad signature (kid {quoted(header.get('kid'))}, alg {alg})")


def _candidates(keys: list, header: dict, alg: str) -> list:
    key_type, curve = KEY_TYPES[alg]
    kid = header.get("kid")
    return [
        key
        for key in keys
        if isinstance(key, key_type)
        and (kid is None or key.kid == kid)
        and key.get("alg") in (None, alg)
        and (curve is None or key.get("crv") == curve)
    ]


def _key_set(jwks_uri: str, *, refresh: bool) -> tuple[list, bool]:
    """The provider's signing keys, and whether they were fetched just now."""
    cache_key = "oidc:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
    document = None if refresh else _cache_get(cache_key)
    fresh = document is None
    if fresh:
        document = get_json(jwks_uri, what="signing keys")
        _cache_set(cache_key, document)
    keys = []
    for data in document.get("keys") or []:
        if not isinstance(data, dict) or data.get("use") not in (None, "sig"):
            continue
        try:
            keys.append(JWKRegistry.import_key(data))
        except (JoseError, ValueError, TypeError, KeyError):
            continue  # a key of a kind we cannot use signs nothing we accept
    return keys, fresh


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # the shared cache down: fetch the keys instead
        logger.warning("shared cache unavailable for the provider's keys", exc_info=True)
        return None


def _cache_set(key: str, value) -> None:
    try:
        cache.set(key, value, JWKS_CACHE_SECONDS)
    except Exception:
        logger.warning("shared cache unavailable for the provider's keys", exc_info=True)


def fetch_userinfo(connection: Connection, *, access_token: str, subject: str) -> dict:
    """The userinfo response, which must be about the ID token's subject (Core 1.0, 5.3.2)."""
    url = connection.options["oidc_metadata"].get("userinfo_endpoint")
    if not url:
        return {}
    info = get_json(url, what="userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if info.get("sub") != subject:
        raise _failure("userinfo_mismatch", f"userinfo sub {quoted(info.get('sub'), 200)} is not {subject}")
    return info
