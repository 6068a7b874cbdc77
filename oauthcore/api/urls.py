"""Mounted at ``api/v2/``: Auth0's paths, without trailing slashes.

Other apps' management API paths (the consent app's ``grants``) join these in one namespace in the
project's URLconf, ahead of the catch-all 404 at the end.
"""

from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from oauthcore.api.errors import envelope
from oauthcore.api.views.client_grants import ClientGrantViewSet
from oauthcore.api.views.clients import ClientViewSet
from oauthcore.api.views.connections import ConnectionViewSet
from oauthcore.api.views.organizations import (
    ClientGrantOrganizationViewSet,
    OrganizationClientGrantViewSet,
    OrganizationConnectionViewSet,
    OrganizationMemberViewSet,
    OrganizationViewSet,
)
from oauthcore.api.views.resource_servers import ResourceServerViewSet
from oauthcore.api.views.tenant import TenantSettingsViewSet
from oauthcore.api.views.tickets import TicketViewSet
from oauthcore.api.views.users import UserViewSet

app_name = "management_api"

COLLECTION = {"get": "list", "post": "create"}
ITEM = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


@csrf_exempt  # bearer-authenticated like every view here: an unknown path is a 404, before any CSRF check
def not_found(request, rest=""):
    return JsonResponse(envelope(404, "Not Found", "inexistent_resource"), status=404)


urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL of its own: no inline script (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="management_api:schema"), name="docs"),
    path("clients", ClientViewSet.as_view(COLLECTION), name="clients"),
    path("clients/<str:pk>", ClientViewSet.as_view(ITEM), name="client"),
    path("clients/<str:pk>/rotate-secret", ClientViewSet.as_view({"post": "rotate_secret"}), name="client-rotate"),
    path("resource-servers", ResourceServerViewSet.as_view(COLLECTION), name="resource-servers"),
    path("resource-servers/<path:pk>", ResourceServerViewSet.as_view(ITEM), name="resource-server"),
    path("client-grants", ClientGrantViewSet.as_view(COLLECTION), name="client-grants"),
    path("client-grants/<str:pk>", ClientGrantViewSet.as_view(ITEM), name="client-grant"),
    path(
        "client-grants/<str:pk>/organizations",
        ClientGrantOrganizationViewSet.as_view({"get": "list"}),
        name="client-grant-organizations",
    ),
    path("connections", ConnectionViewSet.as_view(COLLECTION), name="connections"),
    path("connections/<str:pk>", ConnectionViewSet.as_view(ITEM), name="connection"),
    path(
        "connections/<str:pk>/clients",
        ConnectionViewSet.as_view({"get": "clients", "patch": "update_clients"}),
        name="connection-clients",
    ),
    path("users", UserViewSet.as_view(COLLECTION), name="users"),
    path("users/<str:pk>", UserViewSet.as_view(ITEM), name="user"),
    path("tickets/email-verification", TicketViewSet.as_view({"post": "email_verification"}), name="ticket-verify"),
    path("tickets/password-change", TicketViewSet.as_view({"post": "password_change"}), name="ticket-password"),
    path("organizations", OrganizationViewSet.as_view(COLLECTION), name="organizations"),
    path(
        "organizations/name/<str:name>",
        OrganizationViewSet.as_view({"get": "retrieve_by_name"}),
        name="organization-by-name",
    ),
    path("organizations/<str:pk>", OrganizationViewSet.as_view(ITEM), name="organization"),
    path(
        "organizations/<str:pk>/members",
        OrganizationMemberViewSet.as_view({"get": "list", "post": "create", "delete": "destroy"}),
        name="organization-members",
    ),
    path(
        "organizations/<str:pk>/enabled_connections",
        OrganizationConnectionViewSet.as_view(COLLECTION),
        name="organization-connections",
    ),
    path(
        "organizations/<str:pk>/enabled_connections/<str:connection_id>",
        OrganizationConnectionViewSet.as_view(ITEM),
        name="organization-connection",
    ),
    path(
        "organizations/<str:pk>/client-grants",
        OrganizationClientGrantViewSet.as_view(COLLECTION),
        name="organization-client-grants",
    ),
    path(
        "organizations/<str:pk>/client-grants/<str:grant_id>",
        OrganizationClientGrantViewSet.as_view({"delete": "destroy"}),
        name="organization-client-grant",
    ),
    path(
        "tenants/settings",
        TenantSettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="tenant-settings",
    ),
    re_path(r"^(?P<rest>.*)$", not_found),
]
