"""The My Account API's endpoints: the token's user, managing their own account.

Every request is authenticated by a user-delegated token for this API's audience (only first-party
apps get one) and checked for the endpoint's scope. No path names a user: a token reaches its own
user's account only. Errors use the management API's envelope.
"""

from django.core import signing
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.errors import ApiError, NotFoundError
from oauthcore.api.serializers import auth0_datetime
from oauthcore.api.views.user_api import UserApiViewSet
from oauthcore.conf import portcullis_settings
from oauthcore.consents import consent_store
from oauthcore.constants import ConnectionStrategy
from oauthcore.models import Authenticator, AuthenticatorKind, RecoveryCode
from oauthcore.my_account.authentication import MyAccountTokenAuthentication
from oauthcore.my_account.serializers import (
    AuthenticationMethodSerializer,
    EnrollmentSerializer,
    EnrollmentVerifySerializer,
    GrantSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
)
from oauthcore.services.mfa import (
    MfaError,
    MfaLockedOut,
    authenticator_remove,
    confirmed_factors,
    factor_by_id,
    factor_id,
    logged_in_recently,
    recovery_code_id,
    totp_enroll_confirm_counted,
    totp_enroll_start,
)
from oauthcore.services.users import user_update

FEDERATED_NAME = (
    "The name of a user of an enterprise connection comes from their identity provider at each sign-in; "
    "change it there."
)
# Auth0's types for this server's second factors.
FACTOR_TYPES = {AuthenticatorKind.TOTP: "totp", AuthenticatorKind.WEBAUTHN: "passkey"}
PASSWORD_METHOD = "password"  # noqa: S105 (the method's type, not a secret)


# The My Account API's type of each second factor (Auth0's names).
METHOD_TYPES = {AuthenticatorKind.TOTP: "totp", AuthenticatorKind.WEBAUTHN: "passkey"}
RECOVERY_CODE_METHOD = "recovery-code"
ENROLLMENT_SALT = "portcullis.my_account.totp_enrollment"
ENROLLMENT_MAX_AGE = 600  # seconds an auth_session stays good
RECENT_LOGIN_SENTENCE = "This needs a recent login: sign in again, then retry with the new token."


def security_page_sentence() -> str:
    return f"Enroll a passkey on the account's security page: {portcullis_settings.issuer}/account/security"


class MyAccountViewSet(UserApiViewSet):
    authentication_classes = [MyAccountTokenAuthentication]


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
    """The user's ways to sign in: the password of a database connection's user, and their second
    factors. An authenticator app is enrolled here in two steps (Auth0's): ``POST`` with
    ``{"type": "totp"}`` answers its secret and an ``auth_session``, then ``POST .../{id}/verify``
    with that session and a code the app made confirms it. Passkeys are enrolled on the security
    page (a browser ceremony). Removing a factor needs a recent login, as on the security page."""

    required_scopes = {
        "list": "read:me:authentication_methods",
        "retrieve": "read:me:authentication_methods",
        "create": "create:me:authentication_methods",
        "verify": "create:me:authentication_methods",
        "destroy": "delete:me:authentication_methods",
    }

    def _methods(self) -> list[dict]:
        """The password (a database connection's user), then the confirmed second factors with
        Auth0's types, then the recovery codes while some are unused."""
        user = self.request.user
        methods = []
        if user.connection.strategy == ConnectionStrategy.DATABASE and user.has_usable_password():
            # (an enterprise connection's users sign in at their identity provider)
            methods.append(
                {
                    "id": f"{PASSWORD_METHOD}|{user.uid}",
                    "type": PASSWORD_METHOD,
                    "usage": ["primary"],
                    "created_at": auth0_datetime(user.date_joined),
                }
            )
        for factor in confirmed_factors(user):
            methods.append(_factor_method(factor))
        first = RecoveryCode.objects.filter(user=user, used_at__isnull=True).order_by("created_at").first()
        if first is not None:
            methods.append(
                {
                    "id": recovery_code_id(user),
                    "type": RECOVERY_CODE_METHOD,
                    "confirmed": True,
                    "usage": ["secondary"],
                    "created_at": auth0_datetime(first.created_at),
                }
            )
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
        serializer = EnrollmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["type"] != METHOD_TYPES[AuthenticatorKind.TOTP]:
            raise ApiError(status.HTTP_400_BAD_REQUEST, security_page_sentence(), "operation_not_supported")
        user = request.user
        if Authenticator.objects.filter(user=user, confirmed_at__isnull=False).exists() and not logged_in_recently(
            user
        ):
            raise ApiError(status.HTTP_403_FORBIDDEN, RECENT_LOGIN_SENTENCE, "recent_login_required")
        try:
            enrollment = totp_enroll_start(actor=self.actor, user=user)
        except MfaError as exc:
            raise ApiError(status.HTTP_409_CONFLICT, str(exc), "already_enrolled") from exc
        method_id = factor_id(enrollment.authenticator)
        body = {
            "id": method_id,
            "auth_session": signing.dumps({"a": enrollment.authenticator.pk, "u": user.pk}, salt=ENROLLMENT_SALT),
            "barcode_uri": enrollment.uri,
            "manual_input_code": enrollment.secret,
        }
        location = f"{portcullis_settings.my_account_api_identifier}v1/authentication-methods/{method_id}"
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    def verify(self, request, method_id):
        serializer = EnrollmentVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        pending = factor_by_id(user, method_id)
        try:
            session = signing.loads(
                serializer.validated_data["auth_session"], salt=ENROLLMENT_SALT, max_age=ENROLLMENT_MAX_AGE
            )
        except signing.BadSignature:
            session = {}
        if pending is None or pending.confirmed or session != {"a": pending.pk, "u": user.pk}:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST, "The enrollment is over or unknown; start again.", "invalid_auth_session"
            )
        try:
            codes = totp_enroll_confirm_counted(actor=self.actor, user=user, code=serializer.validated_data["otp_code"])
        except MfaLockedOut as exc:
            raise ApiError(
                status.HTTP_429_TOO_MANY_REQUESTS, str(exc), "too_many_attempts", {"Retry-After": str(exc.retry_after)}
            ) from exc
        except MfaError as exc:
            raise ApiError(status.HTTP_400_BAD_REQUEST, str(exc), "invalid_otp_code") from exc
        pending.refresh_from_db()
        body = dict(AuthenticationMethodSerializer(_factor_method(pending)).data)
        if codes:
            body["recovery_codes"] = codes
        return Response(body)

    def destroy(self, request, method_id):
        method = self._method(method_id)
        if method["type"] == PASSWORD_METHOD:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "The password cannot be removed; change it on the account's password page: "
                f"{portcullis_settings.issuer}/account/password",
                "operation_not_supported",
            )
        if method["type"] == RECOVERY_CODE_METHOD:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "Recovery codes go with the last factor removed; they cannot be removed alone.",
                "operation_not_supported",
            )
        if not logged_in_recently(request.user):
            raise ApiError(status.HTTP_403_FORBIDDEN, RECENT_LOGIN_SENTENCE, "recent_login_required")
        authenticator_remove(actor=self.actor, authenticator=factor_by_id(request.user, method_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _factor_method(factor: Authenticator) -> dict:
    return {
        "id": factor_id(factor),
        "type": METHOD_TYPES[factor.kind],
        "name": factor.name,
        "confirmed": factor.confirmed,
        "usage": ["secondary"],
        "created_at": auth0_datetime(factor.created_at),
        "last_auth_at": auth0_datetime(factor.last_used_at) if factor.last_used_at else None,
    }
