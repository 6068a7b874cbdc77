"""How Django requests reach oauthlib: token requests may come as a form or as a JSON object, and
the oauthlib server that answers them gives each access token its API's lifetime, knows only the
grant types Portcullis supports, and answers client authentication failures in the client's scheme."""

import json

from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib import openid
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant as OAuth2DeviceCodeGrant
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from oauthcore.access_tokens import token_lifetime
from oauthcore.constants import SUPPORTED_GRANT_TYPES, GrantType

# RFC 6749 §2.3.1 and §5.2: the one HTTP authentication scheme clients use at the token, revocation,
# introspection and device authorization endpoints. A 401 must carry a challenge (RFC 9110 §15.5.2),
# and a client that tried Basic must be challenged in Basic, so every invalid_client answer carries
# this one, whichever way the client sent (or did not send) its credentials.
CLIENT_CHALLENGE = 'Basic realm="oauth"'
# RFC 8707 §2: ``resource`` may be sent more than once; any other parameter only once (RFC 6749 §3.2).
REPEATABLE_PARAMETERS = frozenset({"resource"})


def reject_repeated_parameters(request) -> None:
    """RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once"."""
    repeated = sorted(set(request.duplicate_params) - REPEATABLE_PARAMETERS)
    if repeated:
        raise errors.InvalidRequestError(
            description=f"Parameters sent more than once: {', '.join(repeated)}.", request=request
        )


def with_client_challenge(headers: dict, body, status: int):
    """oauthlib challenges every 401 in ``Bearer``; at the endpoints clients authenticate to, the
    only 401 is invalid_client, whose challenge is ``Basic``."""
    if status == 401:
        headers = {**headers, "WWW-Authenticate": CLIENT_CHALLENGE}
    return headers, body, status


class DeviceCodeGrant(OAuth2DeviceCodeGrant):
    """oauthlib 3.3's token response for the device code, which runs the registered token
    modifiers (the OpenID Connect grant's ID token) before the token is saved: oauthlib's own
    runs them only in a method the token endpoint never calls."""

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            if self.request_validator.client_authentication_required(
                request
            ) and not self.request_validator.authenticate_client(request):
                raise errors.InvalidClientError(request=request)
            self.validate_token_request(request)
        except errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        token = token_handler.create_token(request, self.refresh_token)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200


class OpenIDDeviceCodeGrant(OpenIDGrantTypeBase):
    """The device code with ``openid`` gives an ID token, as the authorization code does (OpenID
    Connect Core §3.1.3.3): the device's user signed in at ``/activate``. Strict third-party apps
    never get one: the policy drops their OIDC scopes before the device code is issued."""

    def __init__(self, request_validator=None, **kwargs):
        self.proxy_target = DeviceCodeGrant(request_validator=request_validator, **kwargs)
        self.register_token_modifier(self.add_id_token)


class Server(openid.Server):
    """oauthlib's OpenID Connect server (``OAUTH2_SERVER_CLASS``), whose access tokens live as long
    as their API's ``token_lifetime`` (read from the request the validator prepared), in place of
    django-oauth-toolkit's one ``ACCESS_TOKEN_EXPIRE_SECONDS`` for every token.

    Its token endpoint dispatches only the grant types some app may use (no password grant): any
    other is ``unsupported_grant_type``, a missing one ``invalid_request`` (oauthlib would run the
    authorization code grant for it), as is a repeated parameter (RFC 6749 §5.2, §3.2)."""

    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **{**kwargs, "token_expires_in": token_lifetime})
        self.device_code_grant = OpenIDDeviceCodeGrant(request_validator)
        grant_types = {name: handler for name, handler in self.grant_types.items() if name in SUPPORTED_GRANT_TYPES}
        self._grant_types = {**grant_types, GrantType.DEVICE_CODE.value: self.device_code_grant}

    def validate_token_request(self, request):
        super().validate_token_request(request)
        reject_repeated_parameters(request)
        if not request.grant_type:
            raise errors.InvalidRequestError(description="Missing grant_type parameter.", request=request)
        if request.grant_type not in self.grant_types:
            raise errors.UnsupportedGrantTypeError(
                description=f"Grant type '{request.grant_type}' is not supported.", request=request
            )

    def create_token_response(self, *args, **kwargs):
        return with_client_challenge(*super().create_token_response(*args, **kwargs))

    def validate_revocation_request(self, request):
        reject_repeated_parameters(request)
        super().validate_revocation_request(request)

    def create_revocation_response(self, *args, **kwargs):
        return with_client_challenge(*super().create_revocation_response(*args, **kwargs))


class _Members(list):
    """A JSON object's members in the order sent, repeated names included."""


class FormOrJSONOAuthLibCore(OAuthLibCore):
    """Auth0 accepts ``application/json`` token requests as well as forms; so does Portcullis.

    Every value of a repeated parameter reaches oauthlib (django-oauth-toolkit keeps the last one
    but for ``resource``), so that the server can refuse it; a member named twice in a JSON object
    is a repeated parameter too."""

    def extract_body(self, request):
        if request.content_type != "application/json":
            return [(key, value) for key, values in request.POST.lists() for value in values]
        try:
            data = json.loads(request.body or b"{}", object_pairs_hook=_Members)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: arrays nested too deep
            return []  # oauthlib then answers invalid_request: the parameters are missing
        if not isinstance(data, _Members):
            return []
        items = []
        for key, value in data:
            values = value if key == "resource" and isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, bool):
                    item = "true" if item else "false"
                if isinstance(item, str | int | float):
                    items.append((key, str(item)))
        return items
