"""Bearer tokens issued by this server for the Management API audience."""

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from oauthcore.client_tokens import ClientToken, issuer_if_standing, read_client_token
from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken, Application


@dataclass(frozen=True)
class ManagementCredentials:
    """``request.auth`` for a client-credentials token (not stored): who acts, with which scopes."""

    application: Application
    scope: str


class ManagementTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <jwt>``, looked up as django-oauth-toolkit stores it (by checksum).

    Only client-credentials tokens (``sub`` ``{client_id}@clients``) are accepted: the Management API
    administers the tenant, and a token a user obtained through an app, whatever its audience and
    scopes, must not carry that power to whoever can sign in. Client-credentials tokens are not
    stored: they are verified and their standing read (``oauthcore.client_tokens``); one stored
    earlier is still looked up by checksum. ``request.auth`` has the acting client as
    ``application`` and the token's ``scope``; ``request.user`` is always AnonymousUser.
    """

    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != self.keyword or not raw or " " in raw:
            raise exceptions.AuthenticationFailed("Bad HTTP authentication header format")
        client_token = read_client_token(raw)
        if client_token is not None:
            return (AnonymousUser(), self._client_token(client_token))
        checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
        token = AccessToken.objects.select_related("application").filter(token_checksum=checksum).first()
        if token is None or token.application is None or token.is_expired():
            raise exceptions.AuthenticationFailed("Invalid token")
        if token.audience != portcullis_settings.management_api_identifier:
            raise exceptions.AuthenticationFailed("Bad audience")
        if token.user_id is not None:
            raise exceptions.AuthenticationFailed(
                "The Management API accepts only client-credentials tokens; this token was issued to a user."
            )
        return (AnonymousUser(), token)

    @staticmethod
    def _client_token(token: ClientToken) -> "ManagementCredentials":
        if token.audience != portcullis_settings.management_api_identifier:
            raise exceptions.AuthenticationFailed("Bad audience")
        application = issuer_if_standing(token)
        if application is None:
            raise exceptions.AuthenticationFailed("Invalid token")
        return ManagementCredentials(application=application, scope=token.scope)

    def authenticate_header(self, request):
        return f'Bearer realm="{portcullis_settings.management_api_identifier}"'


class ManagementTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oauthcore.api.authentication.ManagementTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
