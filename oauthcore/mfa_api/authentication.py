"""Bearer tokens for the MFA API audience: user-delegated ones only, as for the My Account API."""

from rest_framework import exceptions

from oauthcore.client_tokens import ClientToken
from oauthcore.conf import portcullis_settings
from oauthcore.my_account.authentication import MyAccountTokenAuthentication

USER_TOKENS_ONLY = "The MFA API accepts only tokens issued to a user; this token was issued to a client."


class MfaApiTokenAuthentication(MyAccountTokenAuthentication):
    """``request.user`` is the token's user, ``request.auth`` the stored token (its ``scope``)."""

    @property
    def audience(self) -> str:
        return portcullis_settings.mfa_api_identifier

    def client_credentials(self, token: ClientToken):
        raise exceptions.AuthenticationFailed(USER_TOKENS_ONLY)
