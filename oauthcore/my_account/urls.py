"""Mounted at ``me/``: the paths of Auth0's My Account API (``v1/...``), without trailing slashes."""

from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from oauthcore.api.errors import envelope
from oauthcore.my_account.views import AuthenticationMethodsViewSet, GrantsViewSet, ProfileViewSet

app_name = "my_account"


@csrf_exempt  # bearer-authenticated like every view here: an unknown path is a 404, before any CSRF check
def not_found(request, rest=""):
    return JsonResponse(envelope(404, "Not Found", "inexistent_resource"), status=404)


urlpatterns = [
    path("v1/profile", ProfileViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="profile"),
    path("v1/grants", GrantsViewSet.as_view({"get": "list"}), name="grants"),
    path("v1/grants/<str:grant_id>", GrantsViewSet.as_view({"delete": "destroy"}), name="grant"),
    path(
        "v1/authentication-methods",
        AuthenticationMethodsViewSet.as_view({"get": "list", "post": "create"}),
        name="authentication-methods",
    ),
    path(
        "v1/authentication-methods/<str:method_id>",
        AuthenticationMethodsViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="authentication-method",
    ),
    path(
        "v1/authentication-methods/<str:method_id>/verify",
        AuthenticationMethodsViewSet.as_view({"post": "verify"}),
        name="authentication-method-verify",
    ),
    re_path(r"^(?P<rest>.*)$", not_found),
]
