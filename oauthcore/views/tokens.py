"""The token, revocation, introspection and userinfo endpoints."""

import functools
import hashlib

from django.db.models import Exists, OuterRef
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized
from oauthlib.common import Request as OAuthlibRequest

from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken, ResourceServer, User
from oauthcore.oauthlib_core import FormOrJSONOAuthLibCore
from oauthcore.prepared import PreparedLookup
from oauthcore.validator import PolicyValidator


class TokenView(dot_views.TokenView):
    """``POST /oauth/token``: every grant type, decided by the policy in the validator."""

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, without reading back the token it has just saved when nothing listens to
        ``app_authorized`` (the one reason DOT reads it): a statement saved on every token."""
        if app_authorized.has_listeners():
            return super().authorization_flow_token_response(request, *args, **kwargs)
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


class RevokeView(dot_views.RevokeTokenView):
    """``POST /oauth/revoke`` (RFC 7009): a client revokes only its own tokens."""


class UserInfoView(dot_views.UserInfoView):
    """``GET /userinfo``: tokens with the openid scope; strict third-party apps never get one."""


@functools.cache
def _oauthlib_core() -> FormOrJSONOAuthLibCore:
    return FormOrJSONOAuthLibCore()  # builds an oauthlib server with every grant type: once per process


def _authenticated_client(request):
    """The client authenticated by Basic auth or body credentials, or None."""
    uri, http_method, body, headers = _oauthlib_core()._extract_params(request)
    oauthlib_request = OAuthlibRequest(uri, http_method=http_method, body=body, headers=headers)
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
        client = _authenticated_client(request)
        if client is None:
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."}, status=401
            )
            response["WWW-Authenticate"] = 'Basic realm="introspection"'
            return response
        token_value = request.POST.get("token")  # RFC 7662: a form parameter
        if not token_value:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "The token parameter is required."}, status=400
            )
        return JsonResponse(introspect(token_value, client))


def _introspection_query(checksum: str, caller_pk: int):
    """What the answer shows of the token, its client and user, and whether the caller is the
    linked client of the token's API: one statement."""
    caller_owns_api = Exists(ResourceServer.objects.filter(identifier=OuterRef("audience"), client=caller_pk))
    return (
        AccessToken.objects.filter(token_checksum=checksum)
        .annotate(caller_owns_api=caller_owns_api)
        .values_list(
            "expires",
            "audience",
            "scope",
            "created",
            "application__client_id",
            "user__uid",
            "user__connection__strategy",
            "caller_owns_api",
        )
    )


_introspected = PreparedLookup(_introspection_query, "\x1fchecksum", -7_777_777)  # SQL built once per thread


def introspect(token_value: str, caller) -> dict:
    checksum = hashlib.sha256(token_value.encode()).hexdigest()
    row = _introspected.row(checksum, caller.pk)
    if row is None:
        return INACTIVE
    expires, audience, scope, created, client_id, uid, strategy, caller_owns_api = row
    if expires <= timezone.now() or not audience or not caller_owns_api:
        return INACTIVE
    subject = User.format_user_id(strategy, uid) if uid else f"{client_id}@clients"
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
