"""Mounted at ``my-org/``: the paths of Auth0's My Organization API, without trailing slashes."""

from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from oauthcore.api.errors import envelope
from oauthcore.my_org.views import DetailsViewSet, IdentityProvidersViewSet, MembersViewSet

app_name = "my_org"


@csrf_exempt  # bearer-authenticated like every view here: an unknown path is a 404, before any CSRF check
def not_found(request, rest=""):
    return JsonResponse(envelope(404, "Not Found", "inexistent_resource"), status=404)


urlpatterns = [
    path("details", DetailsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="details"),
    path("members", MembersViewSet.as_view({"get": "list"}), name="members"),
    path("members/<str:user_id>", MembersViewSet.as_view({"delete": "destroy"}), name="member"),
    path("identity-providers", IdentityProvidersViewSet.as_view({"get": "list"}), name="identity-providers"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
