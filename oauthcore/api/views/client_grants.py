from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.errors import NotFoundError
from oauthcore.api.pagination import CHECKPOINT_PARAMETERS, OFFSET_PARAMETERS, paginate, query_bool, query_choice
from oauthcore.api.serializers import ClientGrantCreateSerializer, ClientGrantSerializer, ClientGrantUpdateSerializer
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.constants import DefaultFor, SubjectType
from oauthcore.models import Application, ClientGrant, ResourceServer
from oauthcore.services.client_grants import client_grant_create, client_grant_delete, client_grant_update

IMMUTABLE = ("client_id", "default_for", "audience", "subject_type")
EXAMPLES = [
    OpenApiExample(
        "Default permissions for third-party apps",
        value={
            "audience": "https://orders.example.com/",
            "scope": ["read:orders"],
            "default_for": "third_party_clients",
        },
        request_only=True,
    ),
    OpenApiExample(
        "One app's user-delegated access",
        value={
            "client_id": "tpc_vbc2Y77hGZfbhkSi7y3gTh",
            "audience": "https://orders.example.com/",
            "scope": ["read:orders"],
            "subject_type": "user",
        },
        request_only=True,
    ),
]


def queryset():
    return ClientGrant.objects.select_related("client").order_by("created_at", "pk")


class ClientGrantViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:client_grants",
        "retrieve": "read:client_grants",
        "create": "create:client_grants",
        "partial_update": "update:client_grants",
        "destroy": "delete:client_grants",
    }
    not_found = ("The client grant does not exist", "inexistent_client_grant")

    @extend_schema(
        summary="Get client grants",
        parameters=[
            *CHECKPOINT_PARAMETERS,
            *OFFSET_PARAMETERS,
            OpenApiParameter("audience", OpenApiTypes.STR),
            OpenApiParameter("client_id", OpenApiTypes.STR),
            OpenApiParameter("subject_type", OpenApiTypes.STR, enum=SubjectType.values),
            OpenApiParameter("default_for", OpenApiTypes.STR, enum=DefaultFor.values),
            OpenApiParameter("allow_any_organization", OpenApiTypes.BOOL),
        ],
        responses=ClientGrantSerializer(many=True),
    )
    def list(self, request):
        rows = queryset()
        params = request.query_params
        if audience := params.get("audience"):
            rows = rows.filter(resource_server_id=audience)
        if client_id := params.get("client_id"):
            rows = rows.filter(client__client_id=client_id)
        if subject_type := query_choice(request, "subject_type", SubjectType.values):
            rows = rows.filter(subject_type=subject_type)
        if default_for := query_choice(request, "default_for", DefaultFor.values):
            rows = rows.filter(default_for=default_for)
        allow_any = query_bool(request, "allow_any_organization")
        if allow_any is not None:
            rows = rows.filter(allow_any_organization=allow_any)
        return Response(
            paginate(
                request, rows, "client_grants", lambda r: ClientGrantSerializer(r, many=True).data, checkpoint=True
            )
        )

    @extend_schema(
        summary="Create a client grant",
        request=ClientGrantCreateSerializer,
        responses={201: ClientGrantSerializer},
        examples=EXAMPLES,
    )
    def create(self, request):
        data = self.parse(ClientGrantCreateSerializer)
        client = None
        if "client_id" in data:
            client = Application.objects.filter(client_id=data.pop("client_id")).first()
            if client is None:
                raise NotFoundError("The client does not exist", "inexistent_client")
        audience = data.pop("audience")
        if not ResourceServer.objects.filter(identifier=audience).exists():
            raise NotFoundError(f"No resource server found for audience {audience}", "inexistent_resource_server")
        if data.get("allow_all_scopes") and not data.get("scope"):
            data.pop("scope", None)
        grant = client_grant_create(
            actor=self.actor,
            audience=audience,
            client=client,
            default_for=data.pop("default_for", None),
            subject_type=data.pop("subject_type"),
            **data,
        )
        return Response(ClientGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get a client grant", responses=ClientGrantSerializer)
    def retrieve(self, request, pk):
        return Response(ClientGrantSerializer(self.get_or_404(queryset(), pk=pk)).data)

    @extend_schema(
        summary="Update a client grant", request=ClientGrantUpdateSerializer, responses=ClientGrantSerializer
    )
    def partial_update(self, request, pk):
        grant = self.get_or_404(queryset(), pk=pk)
        data = self.parse(ClientGrantUpdateSerializer, partial=True)
        current = {
            "client_id": grant.client.client_id if grant.client else None,
            "default_for": grant.default_for,
            "audience": grant.audience,
            "subject_type": grant.subject_type,
        }
        changed = {
            name: f"{name} is set at creation and cannot be changed."
            for name in IMMUTABLE
            if name in data and data[name] != current[name]
        }
        if changed:
            raise ValidationError(changed)
        fields = {name: value for name, value in data.items() if name not in IMMUTABLE}
        if fields.get("allow_all_scopes") and "scope" not in fields:
            fields["scope"] = []
        client_grant_update(actor=self.actor, grant=grant, **fields)
        return Response(ClientGrantSerializer(grant).data)

    @extend_schema(summary="Delete a client grant", responses={204: None})
    def destroy(self, request, pk):
        client_grant_delete(actor=self.actor, grant=self.get_or_404(queryset(), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
