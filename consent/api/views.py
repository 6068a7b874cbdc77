"""The users' consents in the management API: Auth0's ``/api/v2/grants``, over the consent app's
models and services, on the management API's shared view base."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from consent.models import UserGrant
from consent.services import user_grant_revoke
from oauthcore.api.errors import InvalidQueryError
from oauthcore.api.pagination import OFFSET_PARAMETERS, paginate
from oauthcore.api.serializers import UserGrantSerializer
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.api.views.users import user_lookup


def queryset():
    return UserGrant.objects.select_related("client", "user__connection").order_by("created_at", "pk")


class GrantViewSet(ManagementViewSet):
    """The users' consents: Auth0 "grants"."""

    required_scopes = {"list": "read:grants", "destroy": "delete:grants", "destroy_by_user": "delete:grants"}
    not_found = ("The grant does not exist", "inexistent_grant")

    @extend_schema(
        summary="Get grants",
        parameters=[
            *OFFSET_PARAMETERS,
            OpenApiParameter("user_id", OpenApiTypes.STR, description="user_id of the grants to retrieve."),
            OpenApiParameter("client_id", OpenApiTypes.STR),
            OpenApiParameter("audience", OpenApiTypes.STR),
        ],
        responses=UserGrantSerializer(many=True),
    )
    def list(self, request):
        rows = queryset()
        params = request.query_params
        if user_id := params.get("user_id"):
            rows = rows.filter(user_lookup(user_id))
        if client_id := params.get("client_id"):
            rows = rows.filter(client__client_id=client_id)
        if audience := params.get("audience"):
            rows = rows.filter(audience=audience)
        return Response(paginate(request, rows, "grants", lambda r: UserGrantSerializer(r, many=True).data))

    @extend_schema(summary="Delete a grant by id", responses={204: None})
    def destroy(self, request, pk):
        user_grant_revoke(actor=self.actor, grant=self.get_or_404(queryset(), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Delete all of a user's grants",
        operation_id="grants_delete_by_user_id",
        parameters=[OpenApiParameter("user_id", OpenApiTypes.STR, required=True)],
        responses={204: None},
    )
    def destroy_by_user(self, request):
        user_id = request.query_params.get("user_id")
        if not user_id:
            raise InvalidQueryError("Missing required property: user_id.")
        for grant in queryset().filter(user_lookup(user_id)):
            user_grant_revoke(actor=self.actor, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
