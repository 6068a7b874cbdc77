"""The token, revocation, introspection and userinfo endpoints."""

import hashlib
import json

from django.http import JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken, ResourceServer
from oauthcore.oauthlib_core import FormOrJSONOAuthLibCore
from oauthcore.validator import PolicyValidator


class TokenView(dot_views.TokenView):
    """``POST /oauth/token``: every grant type, decided by the policy in the validator."""

    def post(self, request, *args, **kwargs):
        # The device code's polling goes through oauthlib and the validator like every grant type
        # (``services.device.device_grant_poll`` answers pending, slow_down, expired, denied): DOT's
        # own device branch reads form bodies only, has no slow_down and answers unknown codes 404.
        try:
            return self.authorization_flow_token_response(request)
        except OAuth2Error as exc:  # raised while saving the tokens (a refresh token revoked meanwhile)
            return JsonResponse(json.loads(exc.json), status=exc.status_code, headers=exc.headers)
        except AccessToken.DoesNotExist:  # DOT re-reads the token it issued: revoked in between
            return JsonResponse(
                {"error": "invalid_grant", "error_description": "The grant was revoked."}, status=400
            )


class RevokeView(dot_views.RevokeTokenView):
    """``POST /oauth/revoke`` (RFC 7009): a client revokes only its own tokens."""


class UserInfoView(dot_views.UserInfoView):
    """``GET /userinfo``: tokens with the openid scope; strict third-party apps never get one."""


def _authenticated_client(request):
    """The client authenticated by Basic auth or body credentials, or None."""
    core = FormOrJSONOAuthLibCore()
    uri, http_method, body, headers = core._extract_params(request)
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


def introspect(token_value: str, caller) -> dict:
    checksum = hashlib.sha256(token_value.encode()).hexdigest()
    token = (
        AccessToken.objects.select_related("application", "user__connection").filter(token_checksum=checksum).first()
    )
    if token is None or token.expires <= timezone.now() or not token.audience:
        return INACTIVE
    if not ResourceServer.objects.filter(identifier=token.audience, client=caller).exists():
        return INACTIVE
    subject = token.user.user_id if token.user_id else f"{token.application.client_id}@clients"
    return {
        "active": True,
        "scope": token.scope,
        "client_id": token.application.client_id,
        "sub": subject,
        "aud": token.audience,
        "iss": portcullis_settings.issuer,
        "exp": int(token.expires.timestamp()),
        "iat": int(token.created.timestamp()),
        "token_type": "Bearer",
    }
