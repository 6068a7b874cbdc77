"""The token, revocation, introspection and userinfo endpoints."""

import functools
import hashlib
import json
import re
from datetime import UTC, datetime

from django.db import DataError
from django.db.models import Exists, JSONField, OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors

from oauthcore.client_tokens import ClientToken, caller_with_standing, issuer_if_standing, read_client_token
from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken, Application, ResourceServer, User
from oauthcore.oauthlib_core import CLIENT_CHALLENGE, reject_repeated_parameters
from oauthcore.prepared import PreparedLookup
from oauthcore.request_context import context_of
from oauthcore.validator import PolicyValidator
from oauthcore.views.client_credentials import oauthlib_request_of, plain_client_credentials


class TokenView(dot_views.TokenView):
    """``POST /oauth/token``: every grant type, decided by the policy in the validator."""

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, but it reads back the token it has just saved only when something listens to
        ``app_authorized`` (a statement saved on every token), and every answer is JSON: an error
        raised while saving (a code used up by a concurrent request) comes without headers.
        A plain client-credentials request takes the short path (``views.client_credentials``)."""
        plain = plain_client_credentials(request)
        if plain is not None:
            return plain
        _url, headers, body, status = self.create_token_response(request)
        if status == 200 and app_authorized.has_listeners():
            app_authorized.send(sender=self, request=request, token=_issued_token(json.loads(body)["access_token"]))
        response = HttpResponse(content=body, status=status, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response

    def post(self, request, *args, **kwargs):
        # The device code's polling goes through oauthlib and the validator like every grant type
        # (``services.device.device_grant_poll`` answers pending, slow_down, expired, denied): DOT's
        # own device branch reads form bodies only, has no slow_down and answers unknown codes 404.
        try:
            return self.authorization_flow_token_response(request)
        except AccessToken.DoesNotExist:  # read back for an app_authorized listener: revoked in between
            return JsonResponse({"error": "invalid_grant", "error_description": "The grant was revoked."}, status=400)


def _issued_token(value: str) -> AccessToken:
    """The token just issued, as DOT's ``app_authorized`` listeners expect it: the stored row, or for
    a client-credentials token (never stored) an unsaved one with the same facts."""
    client_token = read_client_token(value)
    if client_token is None:
        return AccessToken.objects.get(token_checksum=hashlib.sha256(value.encode()).hexdigest())
    return AccessToken(
        application=Application.objects.get(client_id=client_token.client_id),
        token=value,
        scope=client_token.scope,
        expires=datetime.fromtimestamp(client_token.expires_at, tz=UTC),
        resource=[client_token.audience],
        audience=client_token.audience,
    )


class RevokeView(dot_views.RevokeTokenView):
    """``POST /oauth/revoke`` (RFC 7009): a client revokes only its own tokens."""


USERINFO_REALM = "userinfo"
# RFC 6750 §2.1: the b64token syntax of a bearer credential.
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_error(status: int, error: str | None = None, description: str | None = None, scope: str | None = None):
    """RFC 6750 §3: the error in JSON and in the ``Bearer`` challenge. A request that sent no
    credentials at all gets no error code (§3.1): only the challenge, and what to send."""
    challenge = [f'realm="{USERINFO_REALM}"']
    body = {"error": error} if error else {}
    if error:
        challenge.append(f'error="{error}"')
    if error and description:
        challenge.append(f'error_description="{description}"')
    if scope:
        challenge.append(f'scope="{scope}"')
    body["error_description"] = description or "Send an access token in the Authorization header: Bearer <token>."
    response = JsonResponse(body, status=status)
    response["WWW-Authenticate"] = "Bearer " + ", ".join(challenge)
    return response


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class UserInfoView(View):
    """``GET`` and ``POST /userinfo`` (OpenID Connect Core §5.3): the claims a token with ``openid``
    gives; strict third-party apps never get one (their OIDC scopes are dropped), so their tokens
    are refused with ``insufficient_scope``.

    The token is read from the ``Authorization`` header only (RFC 6750 §2.1): one in the query
    (§2.3) or the form body (§2.2) is refused, never used, since a URL or a body ends up in logs."""

    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        elsewhere = "access_token" in request.GET or (
            request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
            and "access_token" in request.POST
        )
        header = request.headers.get("Authorization")
        if header is None:
            if elsewhere:
                return bearer_error(
                    400, "invalid_request", "Send the access token in the Authorization header, not in the request."
                )
            return bearer_error(401)
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return bearer_error(401)  # credentials of a scheme this endpoint does not take: none for it
        token = token.strip()
        if not B64TOKEN.fullmatch(token):
            return bearer_error(400, "invalid_request", "The Authorization header carries no bearer token.")
        if elsewhere:
            return bearer_error(400, "invalid_request", "Send the access token in one place only.")
        return self.claims(request, token)

    def claims(self, request, token: str):
        client_token = read_client_token(token)
        if client_token is not None:
            # Client credentials (not stored): a token of no user, so never one with ``openid``.
            if issuer_if_standing(client_token) is None:
                return bearer_error(401, "invalid_token", "The access token is expired, revoked, malformed or invalid.")
            return bearer_error(403, "insufficient_scope", "The access token has no openid scope.", scope="openid")
        oauthlib_request = OAuthlibRequest(request.build_absolute_uri(request.path), http_method=request.method)
        validator = PolicyValidator()
        if not validator.validate_bearer_token(token, [], oauthlib_request):
            return bearer_error(401, "invalid_token", "The access token is expired, revoked, malformed or invalid.")
        if "openid" not in oauthlib_request.scopes:
            return bearer_error(403, "insufficient_scope", "The access token has no openid scope.", scope="openid")
        return JsonResponse(validator.get_userinfo_claims(oauthlib_request))


def _authenticated_client(oauthlib_request, load_client=None):
    """The client authenticated by Basic auth or body credentials (DOT's rules), or None.

    ``load_client(client_id)`` replaces the validator's own lookup of the client."""
    if load_client is not None:
        context_of(oauthlib_request).load_client = load_client
    if not PolicyValidator().authenticate_client(oauthlib_request):
        return None
    return oauthlib_request.client


INACTIVE = {"active": False}


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class IntrospectView(View):
    """``POST /oauth/introspect`` (RFC 7662).

    Only the client linked to the token's API (``ResourceServer.client``) learns anything about a
    token; any other authenticated client is told ``{"active": false}``, as for an unknown token.
    """

    def post(self, request):
        oauthlib_request = oauthlib_request_of(request)
        try:
            reject_repeated_parameters(oauthlib_request)
        except errors.InvalidRequestError as exc:
            return JsonResponse(json.loads(exc.json), status=exc.status_code)
        token_value = request.POST.get("token")  # RFC 7662: a form parameter
        load_client = None
        client_token = read_client_token(token_value) if token_value else None
        # The token is read in the statement that reads the caller: a client-credentials token's
        # standing (it is not stored), any other token's row.
        if client_token is not None:
            load_client = functools.partial(_load_caller_for_client_token, token=client_token)
        elif token_value:
            load_client = functools.partial(_load_caller, checksum=hashlib.sha256(token_value.encode()).hexdigest())
        client = _authenticated_client(oauthlib_request, load_client)
        if client is None:
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."}, status=401
            )
            response["WWW-Authenticate"] = CLIENT_CHALLENGE
            return response
        if not token_value:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "The token parameter is required."}, status=400
            )
        if client_token is not None:
            return JsonResponse(introspect_client_token(client_token, client))
        return JsonResponse(introspect(token_value, client))


def _caller_with_token(client_id: str, checksum: str):
    """The calling client, with what the answer shows of the token (as ``introspected``: its
    expiry, audience, scope, client and user, and whether the caller is its API's own client)."""
    token = AccessToken.objects.filter(token_checksum=checksum)
    owned = Exists(ResourceServer.objects.filter(identifier=OuterRef("audience"), client=OuterRef(OuterRef("pk"))))
    facts = JSONObject(
        expires="expires",
        created="created",
        audience="audience",
        scope="scope",
        client_id="application__client_id",
        uid="user__uid",
        strategy="user__connection__strategy",
        owned=owned,
    )
    introspected = Subquery(token.values(facts=facts)[:1], output_field=JSONField())
    return Application.objects.filter(client_id=client_id).annotate(introspected=introspected)


# One statement per introspection (authenticating the caller reads the token too), its SQL built once
# per thread: a statement and its round trip saved on what resource servers call for every request.
_caller_and_token = PreparedLookup(_caller_with_token, "\x1fclient_id", "\x1fchecksum")


def _load_caller(client_id: str, *, checksum: str):
    try:
        caller = _caller_and_token.first(client_id, checksum)
    except (ValueError, DataError):  # a NUL byte in client_id: no application has it
        return None
    if caller is not None:
        caller.introspected_checksum = checksum
    return caller


def _load_caller_for_client_token(client_id: str, *, token: ClientToken):
    caller = caller_with_standing(client_id, token)
    if caller is not None:
        caller.introspected_jti = token.jti
    return caller


def introspect_client_token(token: ClientToken, caller) -> dict:
    """A client-credentials token (verified already): active while it stands, for its API's own client."""
    if getattr(caller, "introspected_jti", None) != token.jti:
        caller = _load_caller_for_client_token(caller.client_id, token=token)
    if caller is None or not caller.token_stands or not caller.owns_token:
        return INACTIVE
    return {
        "active": True,
        "scope": token.scope,
        "client_id": token.client_id,
        "sub": token.subject,
        "aud": token.audience,
        "iss": portcullis_settings.issuer,
        "exp": token.expires_at,
        "iat": token.issued_at,
        "token_type": "Bearer",
    }


def introspect(token_value: str, caller) -> dict:
    """``caller``: an authenticated client, loaded by ``_load_caller`` for this token or not."""
    checksum = hashlib.sha256(token_value.encode()).hexdigest()
    if getattr(caller, "introspected_checksum", None) != checksum:
        caller = _load_caller(caller.client_id, checksum=checksum)
    facts = caller.introspected if caller is not None else None
    if facts is None:
        return INACTIVE
    expires, created = _timestamp(facts["expires"]), _timestamp(facts["created"])
    if expires <= timezone.now() or not facts["audience"] or not facts["owned"]:
        return INACTIVE
    uid, client_id = facts["uid"], facts["client_id"]
    subject = User.format_user_id(facts["strategy"], uid) if uid else f"{client_id}@clients"
    audience, scope = facts["audience"], facts["scope"]
    return {
        "active": True,
        "scope": scope,
        "client_id": client_id,
        "sub": subject,
        "aud": audience,
        "iss": portcullis_settings.issuer,
        "exp": int(expires.timestamp()),
        "iat": int(created.timestamp()),
        "token_type": "Bearer",
    }


def _timestamp(value: str) -> datetime:
    """A timestamp as JSON carries it: ISO 8601, naive when the database stores UTC without a zone."""
    parsed = parse_datetime(value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
