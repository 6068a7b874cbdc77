"""The My Account API's endpoints: the token's user, managing their own account.

Every request is authenticated by a user-delegated token for this API's audience (only first-party
apps get one) and checked for the endpoint's scope. No path names a user: a token reaches its own
user's account only. Errors use the management API's envelope.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from oauthcore.api.errors import ApiError, NotFoundError, exception_handler
from oauthcore.api.permissions import HasRequiredScope
from oauthcore.api.serializers import auth0_datetime
from oauthcore.api.views.base import NestingSafeJSONParser
from oauthcore.audit import Actor
from oauthcore.conf import portcullis_settings
from oauthcore.consents import consent_store
from oauthcore.constants import ConnectionStrategy
from oauthcore.models.mfa import AuthenticatorKind
from oauthcore.my_account.authentication import MyAccountTokenAuthentication
from oauthcore.my_account.serializers import (
    AuthenticationMethodSerializer,
    GrantSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
)
from oauthcore.services.mfa import confirmed_factors, unused_recovery_codes
from oauthcore.services.users import user_update

FEDERATED_NAME = (
    "The name of a user of an enterprise connection comes from their identity provider at each sign-in; "
    "change it there."
)
# Auth0's types for this server's second factors.
FACTOR_TYPES = {AuthenticatorKind.TOTP: "totp", AuthenticatorKind.WEBAUTHN: "passkey"}
PASSWORD_METHOD = "password"  # noqa: S105 (the method's type, not a secret)


def security_page_sentence() -> str:
    return (
        "Multi-factor authentication methods are enrolled and removed on the account's security page, "
        f"after typing the password: {portcullis_settings.issuer}/account/security"
    )


# Not in the Management API's OpenAPI document (served at api/v2/schema), which is that API's alone.
@extend_schema(exclude=True)
class MyAccountViewSet(viewsets.ViewSet):
    authentication_classes = [MyAccountTokenAuthentication]
    permission_classes = [HasRequiredScope]
    throttle_classes = []
    parser_classes = [NestingSafeJSONParser]
    renderer_classes = [JSONRenderer]
    metadata_class = None
    # {action: scope}: the token needs it.
    required_scopes: dict[str, str] = {}

    def get_exception_handler(self):
        return exception_handler

    def required_scopes_for(self, request) -> tuple[str, ...]:
        scope = self.required_scopes.get(self.action or "")
        return (scope,) if scope else ()

    @property
    def actor(self) -> Actor:
        return Actor.user(self.request.user)


class ProfileViewSet(MyAccountViewSet):
    required_scopes = {"retrieve": "read:me:profile", "partial_update": "update:me:profile"}

    def retrieve(self, request):
        return Response(ProfileSerializer(request.user).data)

    def partial_update(self, request):
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        if user.connection.strategy != ConnectionStrategy.DATABASE:
            raise ApiError(status.HTTP_400_BAD_REQUEST, FEDERATED_NAME, "operation_not_supported")
        names = {"given_name": "first_name", "family_name": "last_name"}
        fields = {names[key]: value for key, value in serializer.validated_data.items()}
        if fields:
            user = user_update(
                actor=self.actor, user=user, changes="profile changed through the My Account API", **fields
            )
        return Response(ProfileSerializer(user).data)


class GrantsViewSet(MyAccountViewSet):
    """The apps the user authorized (their consents), and taking one back with its tokens."""

    required_scopes = {"list": "read:me:grants", "destroy": "delete:me:grants"}

    def list(self, request):
        grants = consent_store().consents_of(user=request.user)
        return Response(GrantSerializer(grants, many=True).data)

    def destroy(self, request, grant_id):
        if not consent_store().revoke(actor=self.actor, user=request.user, consent_id=grant_id):
            raise NotFoundError("The grant does not exist.", "inexistent_grant")
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuthenticationMethodsViewSet(MyAccountViewSet):
    """The user's ways to sign in: the password of a database connection's user and their second
    factors. Enrolling and removing a second factor happen on the account's security page, where
    the user types their password first (a bearer token alone never strips an account of its
    factors), and are answered so."""

    required_scopes = {
        "list": "read:me:authentication_methods",
        "retrieve": "read:me:authentication_methods",
        "create": "create:me:authentication_methods",
        "destroy": "delete:me:authentication_methods",
    }

    def _methods(self) -> list[dict]:
        """The password (a database connection's user), then the confirmed second factors with
        Auth0's types, then the recovery codes while some are unused."""
        user = self.request.user
        methods = []
        if user.connection.strategy == ConnectionStrategy.DATABASE and user.has_usable_password():
            methods.append(
                {
                    "id": f"{PASSWORD_METHOD}|{user.uid}",
                    "type": PASSWORD_METHOD,
                    "usage": ["primary"],
                    "created_at": auth0_datetime(user.date_joined),
                }
            )
        factors = list(confirmed_factors(user))
        for factor in factors:
            kind = FACTOR_TYPES[factor.kind]
            methods.append(
                {
                    "id": f"{kind}|{factor.pk}",
                    "type": kind,
                    "name": factor.name,
                    "usage": ["secondary"],
                    "created_at": auth0_datetime(factor.created_at),
                }
            )
        if factors and unused_recovery_codes(user):
            methods.append({"id": f"recovery-code|{user.uid}", "type": "recovery-code", "usage": ["secondary"]})
        return methods

    def _method(self, method_id: str) -> dict:
        for method in self._methods():
            if method["id"] == method_id:
                return method
        raise NotFoundError("The authentication method does not exist.", "inexistent_authentication_method")

    def list(self, request):
        methods = self._methods()
        return Response({"authentication_methods": AuthenticationMethodSerializer(methods, many=True).data})

    def retrieve(self, request, method_id):
        return Response(AuthenticationMethodSerializer(self._method(method_id)).data)

    def create(self, request):
        raise ApiError(status.HTTP_501_NOT_IMPLEMENTED, security_page_sentence(), "operation_not_supported")

    def destroy(self, request, method_id):
        method = self._method(method_id)
        if method["type"] == PASSWORD_METHOD:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "The password cannot be removed; change it on the account's password page: "
                f"{portcullis_settings.issuer}/account/password",
                "operation_not_supported",
            )
        raise ApiError(status.HTTP_501_NOT_IMPLEMENTED, security_page_sentence(), "operation_not_supported")
