"""A customer's API protected with oauthcore.protect, next to Portcullis itself (for the live tests)."""

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from oauthcore.protect.django import metadata_view, require_token
from oauthcore.protect.drf import HasScopes, PortcullisTokenAuthentication


@require_token("read:orders")
def orders(request):
    return JsonResponse({"orders": [], "for": request.token.subject, "client": request.token.client_id})


class OrdersAPI(APIView):
    authentication_classes = [PortcullisTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["read:orders"]

    def get(self, request):
        return Response({"orders": [], "for": request.user.sub, "scopes": sorted(request.auth.scopes)})


urlpatterns = [
    path("orders/", orders),
    path("drf/orders", OrdersAPI.as_view()),
    # The API's identifier has no path, so its RFC 9728 document sits right at the well-known prefix.
    path(".well-known/oauth-protected-resource", metadata_view()),
    path("", include("portal.urls")),
]
