"""The base of the APIs a signed-in user calls through a first-party app with a bearer token (the
My Organization and My Account APIs): JSON only, the management API's error envelope, and a scope
per action."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer

from oauthcore.api.errors import exception_handler
from oauthcore.api.permissions import HasRequiredScope
from oauthcore.api.views.base import NestingSafeJSONParser
from oauthcore.audit import Actor


# Not in the Management API's OpenAPI document (served at api/v2/schema), which is that API's alone.
@extend_schema(exclude=True)
class UserApiViewSet(viewsets.ViewSet):
    """Subclasses name their ``authentication_classes`` (the API's audience) and ``required_scopes``."""

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
