"""Organizations in the management API: the organization, its members, its enabled connections,
the client grants it authorized, and a grant's organizations. Auth0's paths and shapes.

Every write goes through ``oauthcore.services.organizations``, which audits it and revokes what it
takes away. Nested objects are always looked up within the organization of the path: another
organization's connection or grant is a 404 here, never a change to it.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.errors import NotFoundError
from oauthcore.api.organization_serializers import (
    OrganizationClientGrantAddSerializer,
    OrganizationClientGrantSerializer,
    OrganizationConnectionCreateSerializer,
    OrganizationConnectionSerializer,
    OrganizationConnectionUpdateSerializer,
    OrganizationCreatedSerializer,
    OrganizationCreateSerializer,
    OrganizationMembersChangeSerializer,
    OrganizationMemberSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
)
from oauthcore.api.pagination import CHECKPOINT_PARAMETERS, OFFSET_PARAMETERS, paginate
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.api.views.clients import FIELD_PARAMETERS, select_fields
from oauthcore.api.views.users import parse_user_id
from oauthcore.models import (
    ClientGrant,
    Connection,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
)
from oauthcore.services.organizations import (
    organization_client_grant_add,
    organization_client_grant_remove,
    organization_connection_add,
    organization_connection_remove,
    organization_connection_update,
    organization_create,
    organization_delete,
    organization_members_add,
    organization_members_remove,
    organization_update,
)

ORGANIZATION_NOT_FOUND = ("The organization does not exist", "inexistent_organization")
CREATE_EXAMPLE = OpenApiExample(
    "A customer that lets third-party apps in",
    value={
        "name": "acme",
        "display_name": "Acme Corp",
        "branding": {
            "logo_url": "https://acme.example.com/logo.png",
            "colors": {"primary": "#0059d6", "page_background": "#ffffff"},
        },
        "metadata": {"plan": "enterprise"},
        "third_party_client_access": "allow",
        "enabled_connections": [{"connection_id": "con_3kq8sT2vWm9xYb4d", "assign_membership_on_login": True}],
    },
    request_only=True,
)


def organization_or_404(pk: str) -> Organization:
    organization = Organization.objects.filter(pk=pk).first()
    if organization is None:
        raise NotFoundError(*ORGANIZATION_NOT_FOUND)
    return organization


def connections_named(connection_ids: list[str]) -> dict[str, Connection]:
    """``{id: connection}``; a 404 naming the first id that is no connection."""
    found = {connection.pk: connection for connection in Connection.objects.filter(pk__in=connection_ids)}
    if missing := [connection_id for connection_id in connection_ids if connection_id not in found]:
        raise NotFoundError(f"The connection does not exist: {missing[0]}", "inexistent_connection")
    return found


def serialize_organizations(rows) -> list:
    return OrganizationSerializer(rows, many=True).data


class OrganizationViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:organizations",
        "retrieve": "read:organizations",
        "retrieve_by_name": "read:organizations",
        "create": "create:organizations",
        "partial_update": "update:organizations",
        "destroy": "delete:organizations",
    }
    not_found = ORGANIZATION_NOT_FOUND

    @extend_schema(
        summary="Get organizations",
        parameters=[*OFFSET_PARAMETERS, *CHECKPOINT_PARAMETERS],
        responses=OrganizationSerializer(many=True),
    )
    def list(self, request):
        rows = Organization.objects.order_by("name", "pk")
        return Response(paginate(request, rows, "organizations", serialize_organizations, checkpoint=True))

    @extend_schema(
        summary="Create an organization",
        request=OrganizationCreateSerializer,
        responses={201: OrganizationCreatedSerializer},
        examples=[CREATE_EXAMPLE],
    )
    def create(self, request):
        data = self.parse(OrganizationCreateSerializer)
        wanted = data.pop("enabled_connections", [])
        connections = connections_named([link["connection_id"] for link in wanted])
        with transaction.atomic():  # the organization with all its connections, or nothing
            organization = organization_create(actor=self.actor, **data)
            links = [
                organization_connection_add(
                    actor=self.actor,
                    organization=organization,
                    connection=connections[link.pop("connection_id")],
                    **link,
                )
                for link in map(dict, wanted)
            ]
        body = OrganizationCreatedSerializer(organization, context={"enabled_connections": links}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get an organization", responses=OrganizationSerializer)
    def retrieve(self, request, pk):
        return Response(OrganizationSerializer(organization_or_404(pk)).data)

    @extend_schema(summary="Get an organization by name", responses=OrganizationSerializer)
    def retrieve_by_name(self, request, name):
        return Response(OrganizationSerializer(self.get_or_404(Organization.objects, name=name)).data)

    @extend_schema(
        summary="Update an organization", request=OrganizationUpdateSerializer, responses=OrganizationSerializer
    )
    def partial_update(self, request, pk):
        organization = organization_or_404(pk)
        data = self.parse(OrganizationUpdateSerializer, partial=True)
        organization_update(actor=self.actor, organization=organization, **data)
        return Response(OrganizationSerializer(organization).data)

    @extend_schema(summary="Delete an organization", responses={204: None})
    def destroy(self, request, pk):
        organization_delete(actor=self.actor, organization=organization_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- members --------------------------------------------------------------------------------------


def users_named(user_ids: list[str]) -> list:
    """The users of these Auth0 user ids, in the order given (members join in that order, and are
    listed so); a 404 naming the first that does not exist."""
    parsed = {user_id: parse_user_id(user_id) for user_id in dict.fromkeys(user_ids)}
    lookup = Q(pk__in=[])
    for strategy_uid in filter(None, parsed.values()):
        lookup |= Q(connection__strategy=strategy_uid[0], uid=strategy_uid[1])
    found = {user.user_id: user for user in get_user_model().objects.select_related("connection").filter(lookup)}
    if missing := [user_id for user_id in parsed if user_id not in found]:
        raise NotFoundError(f"The user does not exist: {missing[0]}", "inexistent_user")
    return [found[user_id] for user_id in parsed]


class DeleteWithBodySchema(AutoSchema):
    """Documents the body of a DELETE too: Auth0 removes members with ``{"members": [...]}``, and
    drf-spectacular otherwise documents bodies for POST, PUT and PATCH only."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class OrganizationMemberViewSet(ManagementViewSet):
    schema = DeleteWithBodySchema()
    required_scopes = {
        "list": "read:organization_members",
        "create": "create:organization_members",
        "destroy": "delete:organization_members",
    }
    not_found = ORGANIZATION_NOT_FOUND

    def serialize(self, rows) -> list:
        return [select_fields(self.request, item) for item in OrganizationMemberSerializer(rows, many=True).data]

    @extend_schema(
        summary="Get members who belong to an organization",
        parameters=[*OFFSET_PARAMETERS, *CHECKPOINT_PARAMETERS, *FIELD_PARAMETERS],
        responses=OrganizationMemberSerializer(many=True),
    )
    def list(self, request, pk):
        organization = organization_or_404(pk)
        rows = OrganizationMember.objects.filter(organization=organization).select_related("user__connection")
        return Response(
            paginate(request, rows.order_by("created_at", "pk"), "members", self.serialize, checkpoint=True)
        )

    @extend_schema(
        summary="Add members to an organization",
        request=OrganizationMembersChangeSerializer,
        responses={204: None},
    )
    def create(self, request, pk):
        organization = organization_or_404(pk)
        users = users_named(self.parse(OrganizationMembersChangeSerializer)["members"])
        organization_members_add(actor=self.actor, organization=organization, users=users)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Delete members from an organization",
        description="Users who are not members are ignored. Their tokens for the organization are revoked.",
        request=OrganizationMembersChangeSerializer,
        responses={204: None},
    )
    def destroy(self, request, pk):
        organization = organization_or_404(pk)
        users = users_named(self.parse(OrganizationMembersChangeSerializer)["members"])
        organization_members_remove(actor=self.actor, organization=organization, users=users)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- enabled connections --------------------------------------------------------------------------


class OrganizationConnectionViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:organization_connections",
        "retrieve": "read:organization_connections",
        "create": "create:organization_connections",
        "partial_update": "update:organization_connections",
        "destroy": "delete:organization_connections",
    }
    not_found = ("The connection is not enabled for the organization", "inexistent_connection")

    def link(self, pk: str, connection_id: str) -> OrganizationConnection:
        organization = organization_or_404(pk)
        links = OrganizationConnection.objects.select_related("connection", "organization")
        return self.get_or_404(links, organization=organization, connection_id=connection_id)

    @extend_schema(
        summary="Get connections enabled for an organization",
        parameters=OFFSET_PARAMETERS,
        responses=OrganizationConnectionSerializer(many=True),
    )
    def list(self, request, pk):
        organization = organization_or_404(pk)
        rows = (
            OrganizationConnection.objects.filter(organization=organization)
            .select_related("connection")
            .order_by("created_at", "pk")
        )
        return Response(
            paginate(
                request, rows, "enabled_connections", lambda r: OrganizationConnectionSerializer(r, many=True).data
            )
        )

    @extend_schema(
        summary="Enable a connection for an organization",
        request=OrganizationConnectionCreateSerializer,
        responses={201: OrganizationConnectionSerializer},
    )
    def create(self, request, pk):
        organization = organization_or_404(pk)
        data = self.parse(OrganizationConnectionCreateSerializer)
        connection_id = data.pop("connection_id")
        connection = connections_named([connection_id])[connection_id]
        link = organization_connection_add(actor=self.actor, organization=organization, connection=connection, **data)
        return Response(OrganizationConnectionSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get an enabled connection for an organization", responses=OrganizationConnectionSerializer)
    def retrieve(self, request, pk, connection_id):
        return Response(OrganizationConnectionSerializer(self.link(pk, connection_id)).data)

    @extend_schema(
        summary="Update the enabled connection for an organization",
        request=OrganizationConnectionUpdateSerializer,
        responses=OrganizationConnectionSerializer,
    )
    def partial_update(self, request, pk, connection_id):
        link = self.link(pk, connection_id)
        data = self.parse(OrganizationConnectionUpdateSerializer, partial=True)
        organization_connection_update(actor=self.actor, link=link, **data)
        return Response(OrganizationConnectionSerializer(link).data)

    @extend_schema(summary="Delete connections from an organization", responses={204: None})
    def destroy(self, request, pk, connection_id):
        organization_connection_remove(actor=self.actor, link=self.link(pk, connection_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- client grants --------------------------------------------------------------------------------


def serialize_grants(links) -> list:
    return OrganizationClientGrantSerializer([link.client_grant for link in links], many=True).data


class OrganizationClientGrantViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:organization_client_grants",
        "create": "create:organization_client_grants",
        "destroy": "delete:organization_client_grants",
    }
    not_found = ("The client grant is not associated with the organization", "inexistent_client_grant")

    @extend_schema(
        summary="Get client grants associated to an organization",
        parameters=[
            *OFFSET_PARAMETERS,
            OpenApiParameter("audience", OpenApiTypes.STR, description="Only the grants for this API."),
            OpenApiParameter("client_id", OpenApiTypes.STR, description="Only the grants of this client."),
            OpenApiParameter(
                "grant_ids", OpenApiTypes.STR, many=True, description="Only these grants (repeated or comma-separated)."
            ),
        ],
        responses=OrganizationClientGrantSerializer(many=True),
    )
    def list(self, request, pk):
        organization = organization_or_404(pk)
        rows = (
            OrganizationClientGrant.objects.filter(organization=organization)
            .select_related("client_grant__client")
            .order_by("created_at", "pk")
        )
        params = request.query_params
        if audience := params.get("audience"):
            rows = rows.filter(client_grant__resource_server_id=audience)
        if client_id := params.get("client_id"):
            rows = rows.filter(client_grant__client__client_id=client_id)
        if "grant_ids" in params:
            grant_ids = [part.strip() for raw in params.getlist("grant_ids") for part in raw.split(",") if part.strip()]
            rows = rows.filter(client_grant_id__in=grant_ids)
        return Response(paginate(request, rows, "client_grants", serialize_grants))

    @extend_schema(
        summary="Associate a client grant with an organization",
        request=OrganizationClientGrantAddSerializer,
        responses={201: OrganizationClientGrantSerializer},
    )
    def create(self, request, pk):
        organization = organization_or_404(pk)
        grant_id = self.parse(OrganizationClientGrantAddSerializer)["grant_id"]
        grant = ClientGrant.objects.select_related("client").filter(pk=grant_id).first()
        if grant is None:
            raise NotFoundError("The client grant does not exist", "inexistent_client_grant")
        organization_client_grant_add(actor=self.actor, organization=organization, grant=grant)
        return Response(OrganizationClientGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove a client grant from an organization", responses={204: None})
    def destroy(self, request, pk, grant_id):
        organization = organization_or_404(pk)
        links = OrganizationClientGrant.objects.select_related("client_grant__client", "organization")
        organization_client_grant_remove(
            actor=self.actor, link=self.get_or_404(links, organization=organization, client_grant_id=grant_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientGrantOrganizationViewSet(ManagementViewSet):
    """``/client-grants/{id}/organizations``: the organizations that authorized a grant."""

    required_scopes = {"list": "read:organization_client_grants"}
    not_found = ("The client grant does not exist", "inexistent_client_grant")

    @extend_schema(
        summary="Get the organizations associated to a client grant",
        parameters=[*OFFSET_PARAMETERS, *CHECKPOINT_PARAMETERS],
        responses=OrganizationSerializer(many=True),
    )
    def list(self, request, pk):
        grant = self.get_or_404(ClientGrant.objects, pk=pk)
        rows = Organization.objects.filter(grant_links__client_grant=grant).order_by("name", "pk")
        return Response(paginate(request, rows, "organizations", serialize_organizations, checkpoint=True))
