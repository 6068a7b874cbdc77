from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from oauthcore.api.serializers import TenantSettingsSerializer, TenantSettingsUpdateSerializer
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.models import TenantSettings
from oauthcore.services.tenant import tenant_settings_update


class TenantSettingsViewSet(ManagementViewSet):
    required_scopes = {"retrieve": "read:tenant_settings", "partial_update": "update:tenant_settings"}

    @extend_schema(summary="Get tenant settings", responses=TenantSettingsSerializer)
    def retrieve(self, request):
        return Response(TenantSettingsSerializer(TenantSettings.load()).data)

    @extend_schema(
        summary="Update tenant settings", request=TenantSettingsUpdateSerializer, responses=TenantSettingsSerializer
    )
    def partial_update(self, request):
        data = self.parse(TenantSettingsUpdateSerializer, partial=True)
        flags = data.pop("flags", {})
        tenant = tenant_settings_update(actor=self.actor, **data, **flags)
        return Response(TenantSettingsSerializer(tenant).data)
