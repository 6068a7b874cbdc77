"""The token endpoint's short path for client credentials, the grant machine clients call most.

It skips oauthlib's generic machinery (the server's dispatch, django-oauth-toolkit's request
extraction, the bearer token handler), not what decides: the same rate limit, the one
``decide()`` with its audited denials, the same token generator and counter, and errors worded
exactly as oauthlib words them. With Redis as the cache, the stamp check, the rate limit and the
count take one round trip (``oauthcore.token_round_trip``), so the request is decided first and
acted on after; without it, the validator's hooks run in oauthlib's order (``_through_the_hooks``).

Only a plain request takes it: a form body, ``grant_type=client_credentials``, each parameter
once and none in the query, the client authenticated by Basic or by ``client_id`` and
``client_secret`` in the body (not both) with its current secret, read from the process's
client cache (``oauthcore.policy_cache.cached_client``). Anything else (a JSON body, a repeated
or unknown parameter, a wrong or previous secret, an unknown client, two resources, a listener
on DOT's ``app_authorized``, Redis failing) returns None and goes the generic way, so every error
keeps its one shape.
"""

import base64
import binascii
import json
import logging
from urllib.parse import unquote_plus, urlencode

from django.http import HttpResponse
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.signals import app_authorized
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors, utils

from oauthcore.access_tokens import generate_access_token, token_lifetime
from oauthcore.decision_inputs import client_facts
from oauthcore.oauthlib_core import with_client_challenge
from oauthcore.policy import Flow, decide_grant_type
from oauthcore.policy_cache import cached_client, shared_stamp
from oauthcore.request_context import context_of
from oauthcore.shared_cache import redis_backend
from oauthcore.throttle import TOKEN, TooManyRequestsError
from oauthcore.token_round_trip import count_token_request
from oauthcore.validator import PolicyValidator

logger = logging.getLogger("oauthcore.throttle")

GRANT_TYPE = "client_credentials"
PLAIN_PARAMETERS = frozenset(
    {"grant_type", "client_id", "client_secret", "audience", "resource", "scope", "organization"}
)
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
    stamp = _last_stamp[0] or shared_stamp()
    if stamp is not None and redis_backend() is not None:
        for _attempt in range(2):
            answer = _in_one_round_trip(request, *credentials, stamp)
            if not isinstance(answer, str):
                return answer
            stamp = answer  # the stamp changed meanwhile: decide again under the new one
        return None
    return _through_the_hooks(request, *credentials, stamp)


# The last shared stamp this process saw: the one-round-trip path reads its client under it, and
# the script says when it no longer stands.
_last_stamp: list[str | None] = [None]


def _authenticated(client_id: str, secret: str, stamp: str | None):
    client = cached_client(client_id, stamp)
    # The current secret only, as django-oauth-toolkit checks it: a previous one still in its
    # grace period is tried by the generic path (it costs a query).
    if client is None or not client.is_usable(None):
        return None
    return client if OAuth2Validator._check_secret(PolicyValidator(), secret, client.client_secret) else None


def _prepared_request(request, client, stamp: str | None) -> OAuthlibRequest:
    oauthlib_request = oauthlib_request_of(request)
    oauthlib_request.client, oauthlib_request.client_id = client, client.client_id
    oauthlib_request.scopes = utils.scope_to_list(oauthlib_request.scope) or []
    context_of(oauthlib_request).shared_stamp = stamp  # the signing key is kept under it too
    return oauthlib_request


def _error(error: errors.OAuth2Error) -> HttpResponse:
    headers, body, status = with_client_challenge(
        {"Content-Type": "application/json", **RESPONSE_HEADERS, **error.headers}, error.json, error.status_code
    )
    headers.pop("Content-Type")
    return _json(body, status, headers)


def _issued(oauthlib_request) -> tuple[HttpResponse, dict]:
    token = {
        "access_token": generate_access_token(oauthlib_request),
        "expires_in": token_lifetime(oauthlib_request),
        "token_type": "Bearer",
        "scope": " ".join(oauthlib_request.scopes),
    }
    return _json(json.dumps(token), 200, RESPONSE_HEADERS), token


def _through_the_hooks(request, client_id: str, secret: str, stamp: str | None) -> HttpResponse | None:
    """Without Redis: the validator's hooks in oauthlib's order, each cache round trip its own."""
    client = _authenticated(client_id, secret, stamp)
    if client is None:
        return None
    oauthlib_request = _prepared_request(request, client, stamp)
    validator = PolicyValidator()
    try:
        # oauthlib's order for this grant: the grant type (with the rate limit), then the scopes.
        if not validator.validate_grant_type(client.client_id, GRANT_TYPE, client, oauthlib_request):
            raise errors.UnauthorizedClientError(request=oauthlib_request)
        validator.validate_scopes(client.client_id, oauthlib_request.scopes, client, oauthlib_request)
    except errors.OAuth2Error as error:
        return _error(error)
    response, token = _issued(oauthlib_request)
    validator.save_bearer_token(token, oauthlib_request)
    return response


def _in_one_round_trip(request, client_id: str, secret: str, stamp: str) -> HttpResponse | str | None:
    """With Redis: decided first (no side effect yet), then the stamp checked, the rate limit and
    the token counted in one script (``oauthcore.token_round_trip``), then the denial audited or
    the token signed, as the hooks would. A str: the stamp that replaced ``stamp``."""
    client = _authenticated(client_id, secret, stamp)
    if client is None:
        return None
    oauthlib_request = _prepared_request(request, client, stamp)
    validator, flow = PolicyValidator(), Flow.CLIENT_CREDENTIALS
    inputs = target = None
    decision = decide_grant_type(client_facts(client), flow)
    if decision is None:
        try:
            inputs, target = validator.request_decision_inputs(oauthlib_request, flow, oauthlib_request.scopes)
        except errors.OAuth2Error:  # a second resource: the generic path answers it, limit first
            return None
        decision = inputs.decide(flow)
    counted = count_token_request(
        stamp=stamp,
        scope=TOKEN.name,
        client_id=client.client_id,
        rate=TOKEN.rate,
        audience=decision.audience or "",
        issue=not decision.denied,
    )
    if counted is None:
        return None  # Redis failed: the generic path, whose limiter lets the request through
    if not counted.stood:
        _last_stamp[0] = counted.stamp
        return counted.stamp or None
    _last_stamp[0] = stamp
    try:
        if not counted.verdict:
            logger.info("Token rate limit reached for client %s.", client.client_id)
            raise TooManyRequestsError(counted.verdict.retry_after, request=oauthlib_request)
        validator.act_on(decision, oauthlib_request, flow, inputs, target)
    except errors.OAuth2Error as error:
        return _error(error)
    oauthlib_request.scopes = sorted(decision.scopes)
    return _issued(oauthlib_request)[0]
