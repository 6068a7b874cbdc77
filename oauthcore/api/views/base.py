"""What every management API view shares: bearer tokens, scopes, Auth0 errors, JSON only."""

from rest_framework import viewsets
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from oauthcore.api.authentication import ManagementTokenAuthentication
from oauthcore.api.errors import NotFoundError, exception_handler
from oauthcore.api.permissions import HasRequiredScope
from oauthcore.api.query import check_query_parameters
from oauthcore.audit import Actor


class NestingSafeJSONParser(JSONParser):
    """DRF's parser, with arrays nested too deep for Python's decoder a parse error (400), not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - arrays or objects nested too deep.") from exc


class ManagementViewSet(viewsets.ViewSet):
    authentication_classes = [ManagementTokenAuthentication]
    permission_classes = [HasRequiredScope]
    throttle_classes = []
    parser_classes = [NestingSafeJSONParser]
    renderer_classes = [JSONRenderer]
    metadata_class = None
    # {action: scope}; the token needs it (any of them, for a tuple).
    required_scopes: dict[str, str | tuple[str, ...]] = {}
    not_found = ("Not Found", "inexistent_resource")

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and scopes first: 401/403 win
        check_query_parameters(request)

    def required_scopes_for(self, request) -> tuple[str, ...]:
        scopes = self.required_scopes.get(self.action or "", ())
        return (scopes,) if isinstance(scopes, str) else tuple(scopes)

    @property
    def actor(self) -> Actor:
        return Actor.client(self.request.auth.application)

    def parse(self, serializer_class, *, partial: bool = False, data=None):
        serializer = serializer_class(data=self.request.data if data is None else data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def get_or_404(self, queryset, **lookup):
        found = queryset.filter(**lookup).first()
        if found is None:
            raise NotFoundError(*self.not_found)
        return found
