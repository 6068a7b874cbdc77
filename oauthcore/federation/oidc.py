"""The ``oidc`` strategy: a customer's own OpenID Connect provider, over the back channel only.

``begin`` sends the browser to the provider's authorization endpoint with a fresh nonce and a PKCE
S256 challenge (the verifier stays in the flow's ``data``); ``complete`` reads the provider's answer
on ``/login/callback``, exchanges the code with the client secret, verifies the ID token and maps
its claims to a profile (``oidc_claims``). Options and their checks: ``oidc_options``.
"""

import hmac
import time

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from oauthcore.federation import oidc_options
from oauthcore.federation.base import FederatedProfile, FederationError, OptionsCheck
from oauthcore.federation.http import quoted
from oauthcore.federation.oidc_claims import map_profile, needs_userinfo
from oauthcore.federation.oidc_tokens import exchange_code, fetch_userinfo, redirect_uri, verify_id_token
from oauthcore.models import Connection


class OidcStrategy:
    secret_options = frozenset({"client_secret"})

    def check_options(self, options: dict, *, current: Connection | None) -> OptionsCheck:
        return oidc_options.check_options(options, current=current)

    def begin(self, request: HttpRequest, connection: Connection, *, state: str) -> tuple[HttpResponse, dict]:
        options = connection.options
        metadata = configured_metadata(connection)
        nonce, verifier = generate_token(32), generate_token(64)
        client = OAuth2Session(
            client_id=options["client_id"],
            scope=options.get("scope") or oidc_options.DEFAULT_SCOPE,
            redirect_uri=redirect_uri(),
            code_challenge_method="S256",
        )
        with client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        data = {"nonce": nonce, "code_verifier": verifier, "started_at": int(time.time())}
        return HttpResponseRedirect(url), data

    def complete(self, request: HttpRequest, connection: Connection, *, flow: dict) -> FederatedProfile:
        answer = request.GET
        metadata = configured_metadata(connection)
        _check_response_issuer(answer.get("iss"), metadata)
        if "error" in answer:
            error = quoted(answer.get("error"))
            description = quoted(answer.get("error_description", ""), 200)
            said = f"{error}: {description}" if description else error
            raise FederationError(
                f"The identity provider did not sign you in ({said}).",
                reason="access_denied" if error == "access_denied" else "upstream_error",
                detail=said,
            )
        code = answer.get("code")
        if not code:
            raise FederationError(
                "The identity provider sent you back without a sign-in. Start again.",
                reason="bad_response",
                detail="callback without code or error",
            )
        if not isinstance(flow.get("code_verifier"), str) or not isinstance(flow.get("nonce"), str):
            raise FederationError(
                "This sign-in cannot be completed. Start again from the application.",
                reason="bad_flow",
                detail="flow data without code_verifier or nonce",
            )
        token = exchange_code(connection, code=code, code_verifier=flow["code_verifier"])
        claims = verify_id_token(connection, token["id_token"], nonce=flow["nonce"], started_at=flow.get("started_at"))
        attribute_map = connection.options.get("attribute_map") or {}
        userinfo = {}
        if needs_userinfo(attribute_map, claims) and isinstance(token.get("access_token"), str):
            userinfo = fetch_userinfo(connection, access_token=token["access_token"], subject=claims["sub"])
        profile = map_profile(attribute_map, id_token=claims, userinfo=userinfo)
        return FederatedProfile(subject=claims["sub"], attributes=profile, raw={**userinfo, **claims})


def configured_metadata(connection: Connection) -> dict:
    """The provider's stored discovery document, or the admin's to-do if it was never fetched."""
    metadata = connection.options.get("oidc_metadata")
    if not isinstance(metadata, dict) or not connection.options.get("client_id"):
        raise FederationError(
            f"The connection {connection.label} is not set up yet: ask its administrator to save its options.",
            reason="misconfigured",
            detail="options without oidc_metadata or client_id",
        )
    return metadata


def _check_response_issuer(iss: str | None, metadata: dict) -> None:
    """RFC 9207: the answer names the provider that sent it, so an answer from another provider the
    browser was talking to (a mix-up) is refused before its code goes anywhere."""
    if iss is None and not metadata.get("authorization_response_iss_parameter_supported"):
        return
    if iss is None or not hmac.compare_digest(iss.encode(), metadata["issuer"].encode()):
        raise FederationError(
            "The answer came from another identity provider than this connection's, so you were not signed in.",
            reason="wrong_issuer",
            detail=f"authorization response iss {quoted(iss, 200)} is not {metadata['issuer']}",
        )


STRATEGY = OidcStrategy()
