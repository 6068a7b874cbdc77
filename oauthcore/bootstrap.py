"""Rows every tenant has: the database connection, the system APIs (the Management API, the My
Organization API, the My Account API and the MFA API), the settings row.

Run after every ``migrate`` (and after a test database flush), so they exist whatever happened
to the data since.
"""

from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    DATABASE_CONNECTION_NAME,
    MANAGEMENT_API_NAME,
    MFA_API_NAME,
    MY_ACCOUNT_API_NAME,
    MY_ORGANIZATION_API_NAME,
    ClientPolicy,
    UserPolicy,
    management_api_scopes,
    mfa_api_scopes,
    my_account_api_scopes,
    my_organization_api_scopes,
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
    # The Management API administers the tenant: machine-to-machine only, for first-party apps.
    _ensure_system_api(
        ResourceServer.objects.using(using),
        ResourceServerScope.objects.using(using),
        identifier=portcullis_settings.management_api_identifier,
        name=MANAGEMENT_API_NAME,
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        client_policy=ClientPolicy.REQUIRE_CLIENT_GRANT,
        scopes=management_api_scopes(),
    )
    # The My Organization API is called by an organization's own administrators, signed in to a
    # first-party app: user-delegated only, as Auth0 creates it (user per-app authorization, no client access).
    _ensure_system_api(
        ResourceServer.objects.using(using),
        ResourceServerScope.objects.using(using),
        identifier=portcullis_settings.my_organization_api_identifier,
        name=MY_ORGANIZATION_API_NAME,
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        client_policy=ClientPolicy.DENY_ALL,
        scopes=my_organization_api_scopes(),
    )
    # The My Account API and the MFA API are called by a signed-in user about their own account,
    # through a first-party app: created as Auth0 creates them, user-delegated only.
    for identifier, name, scopes in (
        (portcullis_settings.my_account_api_identifier, MY_ACCOUNT_API_NAME, my_account_api_scopes()),
        (portcullis_settings.mfa_api_identifier, MFA_API_NAME, mfa_api_scopes()),
    ):
        _ensure_system_api(
            ResourceServer.objects.using(using),
            ResourceServerScope.objects.using(using),
            identifier=identifier,
            name=name,
            user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
            client_policy=ClientPolicy.DENY_ALL,
            scopes=scopes,
        )
    # Whatever the migrations or a flush did to the data, no process may keep deciding from before.
    PolicyVersion.objects.using(using).update_or_create(id=1, defaults={"stamp": new_stamp()})


def _ensure_system_api(apis, scope_rows, *, identifier, name, user_policy, client_policy, scopes) -> None:
    """The system API and every scope it must have (``apis`` and ``scope_rows`` are the managers of
    the migration state's models); an existing one keeps its settings."""
    api, _ = apis.get_or_create(
        identifier=identifier,
        defaults={"name": name, "is_system": True, "user_policy": user_policy, "client_policy": client_policy},
    )
    existing = set(scope_rows.filter(resource_server=api).values_list("value", flat=True))
    scope_rows.bulk_create(
        scope_rows.model(resource_server=api, value=value, description=description)
        for value, description in scopes
        if value not in existing
    )
