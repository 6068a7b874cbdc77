"""The MFA API's endpoints, for the token's user only (no path names a user).

* ``GET /mfa/authenticators`` (``read:authenticators``): the user's factors, Auth0's fields.
* ``DELETE /mfa/authenticators/{id}`` (``remove:authenticators``): 204.
* ``POST /mfa/associate`` (``enroll``): ``{"authenticator_types": ["otp"]}`` starts an authenticator
  app's enrollment: its secret and ``otpauth://`` URI.
* ``POST /mfa/associate/confirm`` (``enroll``): ``{"otp": "123456"}``, a code the app made, confirms it;
  the answer carries the recovery codes when they are made (the user's first factor).

Removing a factor, and enrolling one when the user has a factor already, weaken or change how the
account is protected: a bearer token proves no password, so they need the user's last login within
``RECENT_LOGIN`` (the security page's rule without its password field). Wrong codes count toward the
account's second-step lockout (``MFA_LOCKOUT``), shared with /login/mfa.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthcore.api.permissions import HasRequiredScope
from oauthcore.api.serializers import StrictSerializer, auth0_datetime
from oauthcore.api.views.base import NestingSafeJSONParser
from oauthcore.audit import Actor
from oauthcore.mfa_api.authentication import MfaApiTokenAuthentication
from oauthcore.mfa_api.errors import MfaApiError, exception_handler
from oauthcore.models import Authenticator, AuthenticatorKind, RecoveryCode
from oauthcore.services.mfa import (
    MfaError,
    MfaLockedOut,
    authenticator_remove,
    factor_by_id,
    factor_id,
    logged_in_recently,
    recovery_code_id,
    totp_enroll_confirm_counted,
    totp_enroll_start,
)

# Auth0's authenticator_type for each kind. Auth0's MFA API has no passkey type: "passkey" is this
# server's, the name Auth0's My Account API gives the same factor.
AUTHENTICATOR_TYPES = {AuthenticatorKind.TOTP: "otp", AuthenticatorKind.WEBAUTHN: "passkey"}
RECOVERY_CODE_TYPE = "recovery-code"
OTP_TYPE = "otp"
WRONG_OTP = "Invalid otp_code."


def recent_login_required(user) -> None:
    if not logged_in_recently(user):
        raise MfaApiError(
            status.HTTP_403_FORBIDDEN,
            "access_denied",
            "This needs a recent login: sign in again, then retry with the new token.",
        )


class AssociateSerializer(StrictSerializer):
    authenticator_types = serializers.ListField(child=serializers.CharField(), min_length=1)


class ConfirmSerializer(StrictSerializer):
    otp = serializers.CharField(max_length=16)


# Not in the Management API's OpenAPI document (served at api/v2/schema), which is that API's alone.
@extend_schema(exclude=True)
class MfaApiView(APIView):
    authentication_classes = [MfaApiTokenAuthentication]
    permission_classes = [HasRequiredScope]
    throttle_classes = []
    parser_classes = [NestingSafeJSONParser]
    renderer_classes = [JSONRenderer]
    metadata_class = None
    required_scopes: dict[str, str] = {}  # {HTTP method: scope}

    def get_exception_handler(self):
        return exception_handler

    def required_scopes_for(self, request) -> tuple[str, ...]:
        scope = self.required_scopes.get(request.method)
        return (scope,) if scope else ()

    @property
    def actor(self) -> Actor:
        return Actor.user(self.request.user)


def authenticator_body(authenticator: Authenticator) -> dict:
    return {
        "id": factor_id(authenticator),
        "authenticator_type": AUTHENTICATOR_TYPES[authenticator.kind],
        "active": authenticator.confirmed,
        "name": authenticator.name,
        "created_at": auth0_datetime(authenticator.created_at),
        "last_auth_at": auth0_datetime(authenticator.last_used_at) if authenticator.last_used_at else None,
    }


class AuthenticatorsView(MfaApiView):
    required_scopes = {"GET": "read:authenticators"}

    def get(self, request):
        user = request.user
        body = [authenticator_body(a) for a in Authenticator.objects.filter(user=user)]
        if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
            body.insert(0, {"id": recovery_code_id(user), "authenticator_type": RECOVERY_CODE_TYPE, "active": True})
        return Response(body)


class AuthenticatorView(MfaApiView):
    required_scopes = {"DELETE": "remove:authenticators"}

    def delete(self, request, authenticator_id: str):
        user = request.user
        if authenticator_id == recovery_code_id(user):
            raise MfaApiError(
                status.HTTP_400_BAD_REQUEST,
                "invalid_request",
                "Recovery codes go with the last factor removed; they cannot be removed alone.",
            )
        authenticator = factor_by_id(user, authenticator_id)
        if authenticator is None:
            raise MfaApiError(status.HTTP_404_NOT_FOUND, "not_found", "The authenticator does not exist.")
        recent_login_required(user)
        authenticator_remove(actor=self.actor, authenticator=authenticator)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssociateView(MfaApiView):
    required_scopes = {"POST": "enroll"}

    def post(self, request):
        serializer = AssociateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        types = set(serializer.validated_data["authenticator_types"])
        if types != {OTP_TYPE}:
            raise MfaApiError(
                status.HTTP_400_BAD_REQUEST,
                "unsupported_challenge_type",
                'This API enrolls an authenticator app only: authenticator_types ["otp"].',
            )
        user = request.user
        if Authenticator.objects.filter(user=user, confirmed_at__isnull=False).exists():
            recent_login_required(user)
        try:
            enrollment = totp_enroll_start(actor=self.actor, user=user)
        except MfaError as exc:
            raise MfaApiError(status.HTTP_409_CONFLICT, "already_enrolled", str(exc)) from exc
        return Response(
            {
                "authenticator_type": OTP_TYPE,
                "id": factor_id(enrollment.authenticator),
                "secret": enrollment.secret,
                "barcode_uri": enrollment.uri,
            }
        )


class AssociateConfirmView(MfaApiView):
    required_scopes = {"POST": "enroll"}

    def post(self, request):
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        try:
            codes = totp_enroll_confirm_counted(actor=self.actor, user=user, code=serializer.validated_data["otp"])
        except MfaLockedOut as exc:
            raise MfaApiError(
                status.HTTP_429_TOO_MANY_REQUESTS, "too_many_attempts", str(exc), {"Retry-After": str(exc.retry_after)}
            ) from exc
        except MfaError as exc:
            pending = Authenticator.objects.filter(
                user=user, kind=AuthenticatorKind.TOTP, confirmed_at__isnull=True
            ).exists()
            description = WRONG_OTP if pending else str(exc)
            raise MfaApiError(status.HTTP_403_FORBIDDEN, "invalid_grant", description) from exc
        authenticator = Authenticator.objects.get(user=user, kind=AuthenticatorKind.TOTP)
        body = authenticator_body(authenticator)
        if codes:
            body["recovery_codes"] = codes
        return Response(body)
