"""Django REST framework: an authentication class and a scope permission for Portcullis tokens.

    class OrderList(APIView):
        authentication_classes = [PortcullisTokenAuthentication]
        permission_classes = [HasScopes]
        required_scopes = ["read:orders"]

The API is read from ``PORTCULLIS_PROTECTED_RESOURCE`` (see ``oauthcore.protect.django``), or set
``protected_resource`` on a subclass of the authentication class.
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from oauthcore.protect.core import (
    InsufficientScope,
    ProtectedResource,
    TokenError,
    VerifiedToken,
    bearer_token,
    check_scopes,
)
from oauthcore.protect.django import resource_from_settings, verifier_for


class TokenUser:
    """``request.user`` for a token: who it acts for. Not a row of the API's own user table."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, token: VerifiedToken):
        self.token = token
        self.sub = token.subject
        self.client_id = token.client_id

    def __str__(self):
        return self.sub


class PortcullisTokenAuthentication(BaseAuthentication):
    protected_resource: ProtectedResource | None = None

    def resource(self) -> ProtectedResource:
        return self.protected_resource or resource_from_settings()

    def authenticate(self, request):
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return None  # DRF answers 401 with authenticate_header's challenge
        try:
            verified = verifier_for(self.resource()).verify(token)
        except TokenError as failure:
            request._portcullis_failure = failure
            raise exceptions.AuthenticationFailed(self.resource().error_body(failure)) from failure
        return TokenUser(verified), verified

    def authenticate_header(self, request):
        return self.resource().challenge(getattr(request, "_portcullis_failure", None))


class InsufficientScopeDenied(exceptions.PermissionDenied):
    """403 with an RFC 6750 challenge: DRF copies ``auth_header`` into WWW-Authenticate."""

    def __init__(self, resource: ProtectedResource, failure: InsufficientScope):
        super().__init__(resource.error_body(failure))
        self.auth_header = resource.challenge(failure)


class HasScopes(BasePermission):
    """The token carries every scope in the view's ``required_scopes``."""

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, VerifiedToken):
            return False  # unauthenticated: DRF answers 401 with the challenge
        try:
            check_scopes(token.scopes, list(getattr(view, "required_scopes", ())))
        except InsufficientScope as failure:
            authenticator = request.successful_authenticator
            resource = authenticator.resource() if hasattr(authenticator, "resource") else resource_from_settings()
            raise InsufficientScopeDenied(resource, failure) from failure
        return True
