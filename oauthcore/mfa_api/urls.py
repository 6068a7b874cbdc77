"""Mounted at ``mfa/``: the paths of Auth0's MFA API, without trailing slashes."""

from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from oauthcore.mfa_api.views import AssociateConfirmView, AssociateView, AuthenticatorsView, AuthenticatorView

app_name = "mfa_api"


@csrf_exempt  # bearer-authenticated like every view here: an unknown path is a 404, before any CSRF check
def not_found(request, rest=""):
    return JsonResponse({"error": "not_found", "error_description": "Not Found."}, status=404)


urlpatterns = [
    path("authenticators", AuthenticatorsView.as_view(), name="authenticators"),
    path("authenticators/<str:authenticator_id>", AuthenticatorView.as_view(), name="authenticator"),
    path("associate", AssociateView.as_view(), name="associate"),
    path("associate/confirm", AssociateConfirmView.as_view(), name="associate-confirm"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
