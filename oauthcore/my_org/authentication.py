"""Bearer tokens for the My Organization API audience: user-delegated ones only."""

from rest_framework import exceptions

from oauthcore.api.authentication import BearerTokenAuthentication
from oauthcore.client_tokens import ClientToken
from oauthcore.conf import portcullis_settings
from oauthcore.models import AccessToken

USER_TOKENS_ONLY = "The My Organization API accepts only tokens issued to a user; this token was issued to a client."


class MyOrganizationTokenAuthentication(BearerTokenAuthentication):
    """``request.user`` is the token's user and ``request.auth`` the stored token (its ``scope`` and
    ``organization_id``). A client-credentials token is refused: there is no user whose
    administration of the organization the API could check (and the API's client access policy
    gives none anyway)."""

    @property
    def audience(self) -> str:
        return portcullis_settings.my_organization_api_identifier

    def client_credentials(self, token: ClientToken):
        raise exceptions.AuthenticationFailed(USER_TOKENS_ONLY)

    def stored_token(self, token: AccessToken):
        if token.user_id is None:
            raise exceptions.AuthenticationFailed(USER_TOKENS_ONLY)
        return (token.user, token)
