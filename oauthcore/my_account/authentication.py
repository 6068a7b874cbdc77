"""Bearer tokens for the My Account API audience: user-delegated ones only."""

from rest_framework import exceptions

from oauthcore.api.authentication import BearerTokenAuthentication
from oauthcore.client_tokens import ClientToken
from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken

USER_TOKENS_ONLY = "The My Account API accepts only tokens issued to a user; this token was issued to a client."


class MyAccountTokenAuthentication(BearerTokenAuthentication):
    """``request.user`` is the token's user and ``request.auth`` the stored token (its ``scope``).
    A client-credentials token has no account to act on (and the API's client policy gives none)."""

    @property
    def audience(self) -> str:
        return portcullis_settings.my_account_api_identifier

    def client_credentials(self, token: ClientToken):
        raise exceptions.AuthenticationFailed(USER_TOKENS_ONLY)

    def stored_token(self, token: AccessToken):
        if token.user_id is None:
            raise exceptions.AuthenticationFailed(USER_TOKENS_ONLY)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token")
        return (token.user, token)
