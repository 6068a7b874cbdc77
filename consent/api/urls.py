"""The consent app's management API paths, mounted with oauthcore.api's under ``api/v2/`` by the
project's URLconf (one ``management_api`` namespace, one OpenAPI document)."""

from django.urls import path

from consent.api.views import GrantViewSet

urlpatterns = [
    path("grants", GrantViewSet.as_view({"get": "list", "delete": "destroy_by_user"}), name="grants"),
    path("grants/<str:pk>", GrantViewSet.as_view({"delete": "destroy"}), name="grant"),
]
