from django.db import transaction

from oauthcore.audit import Actor, record_event
from oauthcore.models import TenantSettings

UPDATABLE_FIELDS = frozenset(
    {
        "friendly_name",
        "support_email",
        "enable_dynamic_client_registration",
        "default_audience",
        "require_partner_approval",
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
        tenant.full_clean()
        tenant.save()
        record_event(actor=actor, action="tenant_settings.update", target=tenant, data={"fields": sorted(fields)})
    return tenant
