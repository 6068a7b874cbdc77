from django.db import transaction

from oauthcore.audit import Actor
from oauthcore.models import TenantSettings
from oauthcore.services.base import save_audited

UPDATABLE_FIELDS = frozenset(
    {
        "friendly_name",
        "support_email",
        "enable_dynamic_client_registration",
        "default_audience",
        "require_partner_approval",
        "allow_organization_name_in_authentication_api",
        "mfa_policy",
    }
)


def tenant_settings_update(*, actor: Actor, **fields) -> TenantSettings:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"tenant_settings_update got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        tenant = TenantSettings.objects.select_for_update().get_or_create(id=1)[0]
        for name, value in fields.items():
            setattr(tenant, name, value)
        save_audited(tenant, actor=actor, action="tenant_settings.update", data={"fields": sorted(fields)})
    return tenant
