"""Bearer tokens issued by this server for its own APIs: the Management API, the My Organization API."""

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


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <jwt>`` issued by this server for one API (``audience``).

    The one reading of a bearer token for the APIs this server serves itself. A client-credentials
    token is not stored: it is verified and its standing read (``oauthcore.client_tokens``). A
    user-delegated token (or a client token stored earlier) is looked up as django-oauth-toolkit
    stores it, by checksum: revoking it deletes the row, so it stops working at once. Each API then
    says which of the two kinds it takes (``client_credentials`` and ``stored_token``).
    """

    keyword = "bearer"

    @property
    def audience(self) -> str:
        raise NotImplementedError

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
            if client_token.audience != self.audience:
                raise exceptions.AuthenticationFailed("Bad audience")
            return self.client_credentials(client_token)
        checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
        token = AccessToken.objects.select_related("application").filter(token_checksum=checksum).first()
        if token is None or token.application is None or token.is_expired():
            raise exceptions.AuthenticationFailed("Invalid token")
        if token.audience != self.audience:
            raise exceptions.AuthenticationFailed("Bad audience")
        return self.stored_token(token)

    def client_credentials(self, token: ClientToken):
        """``(user, auth)`` for a verified client-credentials token for this API."""
        raise NotImplementedError

    def stored_token(self, token: AccessToken):
        """``(user, auth)`` for a live stored token for this API."""
        raise NotImplementedError

    def authenticate_header(self, request):
        return f'Bearer realm="{self.audience}"'


class ManagementTokenAuthentication(BearerTokenAuthentication):
    """Bearer tokens for the Management API audience.

    Only client-credentials tokens (``sub`` ``{client_id}@clients``) are accepted: the Management API
    administers the tenant, and a token a user obtained through an app, whatever its audience and
    scopes, must not carry that power to whoever can sign in. ``request.auth`` has the acting client
    as ``application`` and the token's ``scope``; ``request.user`` is always AnonymousUser.
    """

    @property
    def audience(self) -> str:
        return portcullis_settings.management_api_identifier

    def client_credentials(self, token: ClientToken):
        application = issuer_if_standing(token)
        if application is None:
            raise exceptions.AuthenticationFailed("Invalid token")
        return (AnonymousUser(), ManagementCredentials(application=application, scope=token.scope))

    def stored_token(self, token: AccessToken):
        if token.user_id is not None:
            raise exceptions.AuthenticationFailed(
                "The Management API accepts only client-credentials tokens; this token was issued to a user."
            )
        return (AnonymousUser(), token)


class ManagementTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oauthcore.api.authentication.ManagementTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
