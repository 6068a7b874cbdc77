from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from oauthcore.api.errors import NotFoundError
from oauthcore.api.pagination import CHECKPOINT_PARAMETERS, OFFSET_PARAMETERS, checkpoint_page, paginate, query_choices
from oauthcore.api.serializers import (
    ConnectionCreateSerializer,
    ConnectionSerializer,
    ConnectionUpdateSerializer,
    EnabledClientChangeSerializer,
    EnabledClientsSerializer,
)
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.constants import ConnectionStrategy
from oauthcore.models import Application, Connection
from oauthcore.services.connections import (
    connection_create,
    connection_delete,
    connection_set_enabled_clients,
    connection_update,
)

MAX_CLIENT_CHANGES = 50


class EnabledClientChanges(serializers.ListSerializer):
    child = EnabledClientChangeSerializer()
    max_length = MAX_CLIENT_CHANGES

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("child", EnabledClientChangeSerializer())
        kwargs.setdefault("max_length", MAX_CLIENT_CHANGES)
        kwargs.setdefault("allow_empty", False)
        super().__init__(*args, **kwargs)


class ConnectionViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:connections",
        "retrieve": "read:connections",
        "create": "create:connections",
        "partial_update": "update:connections",
        "destroy": "delete:connections",
        "clients": "read:connections",
        "update_clients": "update:connections",
    }
    not_found = ("The connection does not exist", "inexistent_connection")

    @extend_schema(
        summary="Get connections",
        parameters=[
            *OFFSET_PARAMETERS,
            *CHECKPOINT_PARAMETERS,
            OpenApiParameter(
                "strategy",
                OpenApiTypes.STR,
                many=True,
                enum=ConnectionStrategy.values,
                description="Only connections of these strategies (repeat the parameter for several).",
            ),
            OpenApiParameter("name", OpenApiTypes.STR, description="Only the connection with this name."),
        ],
        responses=ConnectionSerializer(many=True),
    )
    def list(self, request):
        rows = Connection.objects.order_by("name", "pk")
        if (strategies := query_choices(request, "strategy", ConnectionStrategy.values)) is not None:
            rows = rows.filter(strategy__in=strategies)
        if name := request.query_params.get("name"):
            rows = rows.filter(name=name)
        return Response(
            paginate(request, rows, "connections", lambda r: ConnectionSerializer(r, many=True).data, checkpoint=True)
        )

    @extend_schema(
        summary="Create a connection", request=ConnectionCreateSerializer, responses={201: ConnectionSerializer}
    )
    def create(self, request):
        data = self.parse(ConnectionCreateSerializer)
        if "enabled_clients" in data:
            data["enabled_clients"] = list(self.applications(data["enabled_clients"]).values())
        connection = connection_create(actor=self.actor, **data)
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get a connection", responses=ConnectionSerializer)
    def retrieve(self, request, pk):
        return Response(ConnectionSerializer(self.get_or_404(Connection.objects, pk=pk)).data)

    @extend_schema(summary="Update a connection", request=ConnectionUpdateSerializer, responses=ConnectionSerializer)
    def partial_update(self, request, pk):
        connection = self.get_or_404(Connection.objects, pk=pk)
        data = self.parse(ConnectionUpdateSerializer, partial=True)
        connection_update(actor=self.actor, connection=connection, **data)
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(summary="Delete a connection", responses={204: None})
    def destroy(self, request, pk):
        connection_delete(actor=self.actor, connection=self.get_or_404(Connection.objects, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Get the clients enabled for a connection",
        parameters=CHECKPOINT_PARAMETERS,
        responses=EnabledClientsSerializer,
    )
    @action(detail=True, methods=["get"])
    def clients(self, request, pk):
        connection = self.get_or_404(Connection.objects, pk=pk)
        rows = connection.enabled_clients.only("pk", "client_id")
        return Response(checkpoint_page(request, rows, "clients", lambda r: [{"client_id": a.client_id} for a in r]))

    @extend_schema(
        summary="Enable or disable clients for a connection",
        request=EnabledClientChangeSerializer(many=True),
        responses={204: None},
    )
    @clients.mapping.patch
    def update_clients(self, request, pk):
        connection = self.get_or_404(Connection.objects, pk=pk)
        serializer = EnabledClientChanges(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = {item["client_id"]: item["status"] for item in serializer.validated_data}
        applications = self.applications(wanted)
        changes = {applications[client_id]: enabled for client_id, enabled in wanted.items()}
        connection_set_enabled_clients(actor=self.actor, connection=connection, changes=changes)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def applications(client_ids) -> dict[str, int]:
        """``client_id`` to primary key, for clients that must all exist."""
        applications = dict(Application.objects.filter(client_id__in=client_ids).values_list("client_id", "pk"))
        if missing := sorted(set(client_ids) - set(applications)):
            raise NotFoundError(f"The client does not exist: {', '.join(missing)}", "inexistent_client")
        return applications
