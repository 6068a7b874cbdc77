"""Organizations through Auth0's own Python SDK (typed models, its pagers), over HTTP against the
live server: what an operator's existing Auth0 automation does, unchanged, and what it then changes
for the apps (a machine-to-machine token for an organization, once the organization authorizes it)."""

import pytest
import requests
from auth0.management.core.api_error import ApiError
from auth0.management.types import ConnectionForOrganization, OrganizationBranding, OrganizationBrandingColors

from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import AuditEvent, Connection, TenantSettings
from tests.e2e.oauth_helpers import verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
ORDERS = "https://orders.example.com/"


def token_response(live_server, app, audience, **extra) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "audience": audience,
        **extra,
    }
    return requests.post(f"{live_server.url}/oauth/token", data=form, timeout=10)


def test_organization_lifecycle_and_paging_through_the_sdk(sdk, bootstrap):
    acme = sdk.organizations.create(
        name="acme",
        display_name="Acme Corp",
        branding=OrganizationBranding(
            logo_url="https://acme.example.com/logo.png",
            colors=OrganizationBrandingColors(primary="#0059d6", page_background="#ffffff"),
        ),
        metadata={"plan": "enterprise"},
        third_party_client_access="allow",
    )
    assert acme.id.startswith("org_") and acme.third_party_client_access == "allow"
    assert acme.branding.colors.primary == "#0059d6"
    assert sdk.organizations.get_by_name("acme").id == acme.id

    sdk.organizations.update(acme.id, display_name="Acme", third_party_client_access="block")
    read = sdk.organizations.get(acme.id)
    assert read.display_name == "Acme" and read.third_party_client_access == "block"
    assert read.metadata == {"plan": "enterprise"}

    for name in ("bravo", "charlie", "delta"):
        sdk.organizations.create(name=name)
    # The SDK's pager follows the checkpoints (``next``) to the end.
    assert sorted(org.name for org in sdk.organizations.list(take=2)) == ["acme", "bravo", "charlie", "delta"]

    with pytest.raises(ApiError) as conflict:
        sdk.organizations.create(name="acme")
    assert conflict.value.status_code == 409 and conflict.value.body["errorCode"] == "conflict"
    with pytest.raises(ApiError) as invalid:
        sdk.organizations.create(name="Not A Slug")
    assert invalid.value.status_code == 400 and invalid.value.body["errorCode"] == "invalid_body"

    sdk.organizations.delete(acme.id)
    with pytest.raises(ApiError) as missing:
        sdk.organizations.get(acme.id)
    assert missing.value.status_code == 404 and missing.value.body["errorCode"] == "inexistent_organization"
    deletions = AuditEvent.objects.filter(action="organization.delete", actor_type="client")
    assert list(deletions.values_list("actor_id", flat=True)) == [bootstrap["client_id"]]


def test_members_and_enabled_connections_through_the_sdk(sdk, alice):
    org = sdk.organizations.create(name="acme")
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)

    added = sdk.organizations.enabled_connections.add(
        org.id, connection_id=database.pk, assign_membership_on_login=True
    )
    assert added.connection.name == DATABASE_CONNECTION_NAME and added.connection.strategy == "auth0"
    assert added.assign_membership_on_login is True and added.show_as_button is True
    sdk.organizations.enabled_connections.update(org.id, database.pk, is_signup_enabled=True)
    assert sdk.organizations.enabled_connections.get(org.id, database.pk).is_signup_enabled is True
    assert [c.connection_id for c in sdk.organizations.enabled_connections.list(org.id)] == [database.pk]

    sdk.organizations.members.create(org.id, members=[alice.user_id])
    members = list(sdk.organizations.members.list(org.id))
    assert [(m.user_id, m.email) for m in members] == [(alice.user_id, "alice@example.com")]
    assert members[0].roles is None
    sdk.organizations.members.delete(org.id, members=[alice.user_id])
    assert list(sdk.organizations.members.list(org.id)) == []

    sdk.organizations.enabled_connections.delete(org.id, database.pk)
    assert list(sdk.organizations.enabled_connections.list(org.id)) == []
    with pytest.raises(ApiError) as missing:
        sdk.organizations.enabled_connections.get(org.id, database.pk)
    assert missing.value.status_code == 404

    globex = sdk.organizations.create(
        name="globex",
        enabled_connections=[ConnectionForOrganization(connection_id=database.pk, show_as_button=False)],
    )
    assert [(c.connection_id, c.show_as_button) for c in globex.enabled_connections] == [(database.pk, False)]
    assert sdk.organizations.enabled_connections.get(globex.id, database.pk).show_as_button is False


def test_an_organization_authorizes_a_machine_grant_and_the_token_carries_it(live_server, sdk):
    sdk.resource_servers.create(identifier=ORDERS, name="Orders")
    app = sdk.clients.create(
        name="Billing sync",
        app_type="non_interactive",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
    )
    grant = sdk.client_grants.create(
        client_id=app.client_id, audience=ORDERS, scope=[], organization_usage="allow", allow_any_organization=False
    )
    assert grant.organization_usage == "allow" and grant.allow_any_organization is False
    org = sdk.organizations.create(name="acme")

    refused = token_response(live_server, app, ORDERS, organization=org.id)
    assert refused.status_code == 403, refused.text

    associated = sdk.organizations.client_grants.create(org.id, grant_id=grant.id)
    assert associated.id == grant.id and associated.client_id == app.client_id and associated.audience == ORDERS
    assert [g.id for g in sdk.organizations.client_grants.list(org.id)] == [grant.id]
    assert [o.id for o in sdk.client_grants.organizations.list(grant.id)] == [org.id]

    token = token_response(live_server, app, ORDERS, organization=org.id)
    assert token.status_code == 200, token.text
    assert verify_jwt(live_server.url, token.json()["access_token"], ORDERS, ISSUER)["org_id"] == org.id

    sdk.organizations.client_grants.delete(org.id, grant.id)
    assert list(sdk.client_grants.organizations.list(grant.id)) == []
    assert token_response(live_server, app, ORDERS, organization=org.id).status_code == 403


def test_app_and_tenant_organization_settings_through_the_sdk(sdk):
    app = sdk.clients.create(name="Customer portal", callbacks=["https://portal.example.com/callback"])
    sdk.clients.update(app.client_id, organization_usage="require", organization_require_behavior="post_login_prompt")
    read = sdk.clients.get(app.client_id)
    assert read.organization_usage == "require" and read.organization_require_behavior == "post_login_prompt"
    with pytest.raises(ApiError) as invalid:
        sdk.clients.update(app.client_id, organization_usage="sometimes")
    assert invalid.value.status_code == 400 and "organization_usage" in invalid.value.body["message"]

    sdk.tenants.settings.update(allow_organization_name_in_authentication_api=True)
    assert sdk.tenants.settings.get().allow_organization_name_in_authentication_api is True
    assert TenantSettings.load().allow_organization_name_in_authentication_api is True
