"""The token endpoint's short path for client credentials, the grant machine clients call most.

It skips oauthlib's generic machinery (the server's dispatch, django-oauth-toolkit's request
extraction, the bearer token handler), not what decides: the validator's own hooks run in
oauthlib's order (the rate limit and the grant type, then the one ``decide()`` with its audited
denials), the token is made by the same generator and counted by the same hook, and errors come
out exactly as oauthlib words them.

Only a plain request takes it: a form body, ``grant_type=client_credentials``, each parameter
once and none in the query, the client authenticated by Basic or by ``client_id`` and
``client_secret`` in the body (not both) with its current secret, read from the process's
client cache (``oauthcore.policy_cache.cached_client``). Anything else (a JSON body, a repeated
or unknown parameter, a wrong or previous secret, an unknown client, a listener on DOT's
``app_authorized``) returns None and goes the generic way, so every error keeps its one shape.
"""

import base64
import binascii
import json
from urllib.parse import unquote_plus, urlencode

from django.http import HttpResponse
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.signals import app_authorized
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors, utils

from oauthcore.access_tokens import generate_access_token, token_lifetime
from oauthcore.oauthlib_core import with_client_challenge
from oauthcore.policy_cache import cached_client, shared_stamp
from oauthcore.request_context import context_of
from oauthcore.validator import PolicyValidator

GRANT_TYPE = "client_credentials"
PLAIN_PARAMETERS = frozenset({"grant_type", "client_id", "client_secret", "audience", "resource", "scope"})
FORM = "application/x-www-form-urlencoded"
# What oauthlib's grant types put on every token response (RFC 6749 §5.1: no caching).
RESPONSE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauthlib_request_of(request) -> OAuthlibRequest:
    """The client credentials and parameters of ``request`` as oauthlib reads them (every body
    parameter, a repeated one as often as it was sent)."""
    headers = {}
    if "HTTP_AUTHORIZATION" in request.META:
        headers["HTTP_AUTHORIZATION"] = request.META["HTTP_AUTHORIZATION"]  # where DOT looks for it
    body = urlencode([(name, value) for name, values in request.POST.lists() for value in values])
    return OAuthlibRequest(request.path, http_method="POST", body=body, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """django-oauth-toolkit's reading of ``Basic`` credentials (RFC 6749 §2.3.1: form-encoded)."""
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic" or not encoded:
        return None
    try:
        client_id, separator, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        return None
    return (unquote_plus(client_id), unquote_plus(secret)) if separator else None


def _credentials(request, form) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION")
    in_body = "client_id" in form or "client_secret" in form
    if header is not None:
        return None if in_body else _basic_credentials(header)
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    return None


def _json(body: str, status: int, headers: dict) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


def plain_client_credentials(request) -> HttpResponse | None:
    """The answer to a plain client-credentials request, or None to take the generic path."""
    if request.content_type != FORM or request.GET or app_authorized.has_listeners():
        return None
    form = request.POST
    if form.get("grant_type") != GRANT_TYPE or not PLAIN_PARAMETERS.issuperset(form):
        return None
    if any(len(values) != 1 for _name, values in form.lists()):
        return None
    credentials = _credentials(request, form)
    if credentials is None:
        return None
    client_id, secret = credentials
    stamp = shared_stamp()
    client = cached_client(client_id, stamp)
    validator = PolicyValidator()
    # The current secret only, as django-oauth-toolkit checks it: a previous one still in its
    # grace period is tried by the generic path (it costs a query).
    if (
        client is None
        or not client.is_usable(None)
        or not OAuth2Validator._check_secret(validator, secret, client.client_secret)
    ):
        return None
    oauthlib_request = oauthlib_request_of(request)
    oauthlib_request.client, oauthlib_request.client_id = client, client.client_id
    oauthlib_request.scopes = utils.scope_to_list(oauthlib_request.scope) or []
    context_of(oauthlib_request).shared_stamp = stamp  # the signing key is kept under it too
    try:
        # oauthlib's order for this grant: the grant type (with the rate limit), then the scopes.
        if not validator.validate_grant_type(client.client_id, GRANT_TYPE, client, oauthlib_request):
            raise errors.UnauthorizedClientError(request=oauthlib_request)
        validator.validate_scopes(client.client_id, oauthlib_request.scopes, client, oauthlib_request)
    except errors.OAuth2Error as error:
        headers, body, status = with_client_challenge(
            {"Content-Type": "application/json", **RESPONSE_HEADERS, **error.headers}, error.json, error.status_code
        )
        headers.pop("Content-Type")
        return _json(body, status, headers)
    token = {
        "access_token": generate_access_token(oauthlib_request),
        "expires_in": token_lifetime(oauthlib_request),
        "token_type": "Bearer",
        "scope": " ".join(oauthlib_request.scopes),
    }
    validator.save_bearer_token(token, oauthlib_request)
    return _json(json.dumps(token), 200, RESPONSE_HEADERS)
