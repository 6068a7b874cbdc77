from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from oauthcore.api.pagination import OFFSET_PARAMETERS, paginate, query_bool, query_choices
from oauthcore.api.serializers import (
    ClientCreateSerializer,
    ClientSerializer,
    ClientUpdateSerializer,
    ClientWithSecretSerializer,
)
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.constants import AppType, CreatedVia
from oauthcore.models import Application
from oauthcore.services.applications import (
    application_create,
    application_delete,
    application_rotate_secret,
    application_update,
)
from portal.platform.caching import forbid_caching

FIELD_PARAMETERS = [
    OpenApiParameter("fields", OpenApiTypes.STR, description="Comma-separated fields to include or exclude."),
    OpenApiParameter("include_fields", OpenApiTypes.BOOL, description="Include (true, default) or exclude `fields`."),
]
STRICT_EXAMPLE = OpenApiExample(
    "Strict third-party app",
    value={
        "name": "Partner app",
        "app_type": "regular_web",
        "is_first_party": False,
        "callbacks": ["https://partner.example.com/callback"],
        "token_endpoint_auth_method": "client_secret_post",
        "third_party_security_mode": "strict",
        "redirection_policy": "open_redirect_protection",
    },
    request_only=True,
)


def select_fields(request, data: dict) -> dict:
    raw = request.query_params.get("fields")
    include = query_bool(request, "include_fields", True)  # validated even when there are no fields
    if not raw:
        return data
    names = {name.strip() for name in raw.split(",") if name.strip()}
    if include:
        return {key: value for key, value in data.items() if key in names}
    return {key: value for key, value in data.items() if key not in names}


class ClientViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:clients",
        "retrieve": "read:clients",
        "create": "create:clients",
        "partial_update": "update:clients",
        "rotate_secret": "update:clients",
        "destroy": "delete:clients",
    }
    not_found = ("The client does not exist", "inexistent_client")

    def serialize(self, rows):
        return [select_fields(self.request, item) for item in ClientSerializer(rows, many=True).data]

    @extend_schema(
        summary="Get clients",
        parameters=[
            *OFFSET_PARAMETERS,
            *FIELD_PARAMETERS,
            OpenApiParameter("is_first_party", OpenApiTypes.BOOL),
            OpenApiParameter(
                "app_type", OpenApiTypes.STR, description="Comma-separated app types.", enum=AppType.values
            ),
        ],
        responses=ClientSerializer(many=True),
    )
    def list(self, request):
        queryset = Application.objects.order_by("pk")
        is_first_party = query_bool(request, "is_first_party")
        if is_first_party is not None:
            queryset = queryset.filter(is_first_party=is_first_party)
        if (app_types := query_choices(request, "app_type", AppType.values, separator=",")) is not None:
            queryset = queryset.filter(app_type__in=app_types)
        return Response(paginate(request, queryset, "clients", self.serialize))

    @extend_schema(
        summary="Create a client",
        request=ClientCreateSerializer,
        responses={201: ClientWithSecretSerializer},
        examples=[STRICT_EXAMPLE],
    )
    def create(self, request):
        data = self.parse(ClientCreateSerializer)
        issued = application_create(
            actor=self.actor,
            name=data.pop("name"),
            app_type=data.pop("app_type", AppType.REGULAR_WEB),
            created_via=CreatedVia.API,
            is_first_party=data.pop("is_first_party", True),
            third_party_security_mode=data.pop("third_party_security_mode", ""),
            **data,
        )
        body = ClientWithSecretSerializer(issued.application, context={"client_secret": issued.client_secret}).data
        return forbid_caching(Response(body, status=status.HTTP_201_CREATED))

    @extend_schema(summary="Get a client", parameters=FIELD_PARAMETERS, responses=ClientSerializer)
    def retrieve(self, request, pk):
        application = self.get_or_404(Application.objects, client_id=pk)
        return Response(select_fields(request, ClientSerializer(application).data))

    @extend_schema(summary="Update a client", request=ClientUpdateSerializer, responses=ClientSerializer)
    def partial_update(self, request, pk):
        application = self.get_or_404(Application.objects, client_id=pk)
        data = self.parse(ClientUpdateSerializer, partial=True)
        application_update(actor=self.actor, application=application, **data)
        return Response(ClientSerializer(application).data)

    @extend_schema(summary="Delete a client", responses={204: None})
    def destroy(self, request, pk):
        application = self.get_or_404(Application.objects, client_id=pk)
        application_delete(actor=self.actor, application=application)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Rotate a client secret", request=None, responses=ClientWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk):
        application = self.get_or_404(Application.objects, client_id=pk)
        secret = application_rotate_secret(actor=self.actor, application=application)
        return forbid_caching(Response(ClientWithSecretSerializer(application, context={"client_secret": secret}).data))
