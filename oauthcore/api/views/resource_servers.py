from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.errors import NotFoundError
from oauthcore.api.pagination import OFFSET_PARAMETERS, paginate
from oauthcore.api.serializers import (
    ResourceServerCreateSerializer,
    ResourceServerSerializer,
    ResourceServerUpdateSerializer,
)
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.exceptions import ConflictError
from oauthcore.models import Application, ResourceServer
from oauthcore.services.resource_servers import (
    resource_server_create,
    resource_server_delete,
    resource_server_update,
)

EXAMPLE = OpenApiExample(
    "An API with per-app authorization",
    value={
        "name": "Orders",
        "identifier": "https://orders.example.com/",
        "scopes": [{"value": "read:orders", "description": "Read your orders"}],
        "subject_type_authorization": {"user": {"policy": "require_client_grant"}, "client": {"policy": "deny_all"}},
    },
    request_only=True,
)


def queryset():
    return ResourceServer.objects.select_related("client").prefetch_related("scopes").order_by("created_at", "pk")


class ResourceServerViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:resource_servers",
        "retrieve": "read:resource_servers",
        "create": "create:resource_servers",
        "partial_update": "update:resource_servers",
        "destroy": "delete:resource_servers",
    }
    not_found = ("The resource server does not exist", "inexistent_resource_server")

    def get_object(self, pk):
        return self.get_or_404(queryset().filter(Q(pk=pk) | Q(identifier=pk)))

    def service_fields(self, data: dict) -> dict:
        if "subject_type_authorization" in data:
            policies = data.pop("subject_type_authorization")
            if "user" in policies:
                data["user_policy"] = policies["user"]["policy"]
            if "client" in policies:
                data["client_policy"] = policies["client"]["policy"]
        if "scopes" in data:
            data["scopes"] = [(scope["value"], scope.get("description", "")) for scope in data["scopes"]]
        if "client_id" in data:
            client_id = data.pop("client_id")
            client = None
            if client_id is not None:
                client = Application.objects.filter(client_id=client_id).first()
                if client is None:
                    raise NotFoundError("The client does not exist", "inexistent_client")
            data["client"] = client
        return data

    @extend_schema(
        summary="Get resource servers",
        parameters=[*OFFSET_PARAMETERS, OpenApiParameter("identifiers", OpenApiTypes.STR, many=True)],
        responses=ResourceServerSerializer(many=True),
    )
    def list(self, request):
        rows = queryset()
        if identifiers := request.query_params.getlist("identifiers"):
            rows = rows.filter(identifier__in=identifiers)
        return Response(
            paginate(request, rows, "resource_servers", lambda r: ResourceServerSerializer(r, many=True).data)
        )

    @extend_schema(
        summary="Create a resource server",
        request=ResourceServerCreateSerializer,
        responses={201: ResourceServerSerializer},
        examples=[EXAMPLE],
    )
    def create(self, request):
        data = self.service_fields(self.parse(ResourceServerCreateSerializer))
        identifier = data.pop("identifier")
        if ResourceServer.objects.filter(identifier=identifier).exists():
            raise ConflictError("A resource server with the same identifier already exists.")
        created = resource_server_create(
            actor=self.actor, identifier=identifier, name=data.pop("name", identifier), **data
        )
        return Response(ResourceServerSerializer(self.get_object(created.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get a resource server", responses=ResourceServerSerializer)
    def retrieve(self, request, pk):
        return Response(ResourceServerSerializer(self.get_object(pk)).data)

    @extend_schema(
        summary="Update a resource server", request=ResourceServerUpdateSerializer, responses=ResourceServerSerializer
    )
    def partial_update(self, request, pk):
        resource_server = self.get_object(pk)
        data = self.service_fields(self.parse(ResourceServerUpdateSerializer, partial=True))
        resource_server_update(actor=self.actor, resource_server=resource_server, **data)
        return Response(ResourceServerSerializer(self.get_object(resource_server.pk)).data)

    @extend_schema(summary="Delete a resource server", responses={204: None})
    def destroy(self, request, pk):
        resource_server_delete(actor=self.actor, resource_server=self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
