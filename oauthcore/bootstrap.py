"""Rows every tenant has: the database connection, the Management API, the settings row.

Run after every ``migrate`` (and after a test database flush), so they exist whatever happened
to the data since.
"""

from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    DATABASE_CONNECTION_NAME,
    MANAGEMENT_API_NAME,
    ClientPolicy,
    UserPolicy,
    management_api_scopes,
)
from oauthcore.models.policy_version import new_stamp


def ensure_system_objects(sender=None, apps=None, using="default", **kwargs):
    if apps is None:
        from django.apps import apps
    try:
        Connection = apps.get_model("oauthcore", "Connection")
        ResourceServer = apps.get_model("oauthcore", "ResourceServer")
        ResourceServerScope = apps.get_model("oauthcore", "ResourceServerScope")
        TenantSettings = apps.get_model("oauthcore", "TenantSettings")
        PolicyVersion = apps.get_model("oauthcore", "PolicyVersion")
    except LookupError:  # migrated backwards, past the models
        return
    Connection.objects.using(using).get_or_create(
        name=DATABASE_CONNECTION_NAME, defaults={"strategy": "auth0", "display_name": "Database"}
    )
    TenantSettings.objects.using(using).get_or_create(id=1)
    management_api, _ = ResourceServer.objects.using(using).get_or_create(
        identifier=portcullis_settings.management_api_identifier,
        defaults={
            "name": MANAGEMENT_API_NAME,
            "is_system": True,
            "user_policy": UserPolicy.REQUIRE_CLIENT_GRANT,
            "client_policy": ClientPolicy.REQUIRE_CLIENT_GRANT,
        },
    )
    existing = set(
        ResourceServerScope.objects.using(using).filter(resource_server=management_api).values_list("value", flat=True)
    )
    ResourceServerScope.objects.using(using).bulk_create(
        ResourceServerScope(resource_server=management_api, value=value, description=description)
        for value, description in management_api_scopes()
        if value not in existing
    )
    # Whatever the migrations or a flush did to the data, no process may keep deciding from before.
    PolicyVersion.objects.using(using).update_or_create(id=1, defaults={"stamp": new_stamp()})
