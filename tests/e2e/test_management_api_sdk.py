"""The management API driven by Auth0's own Python SDK (typed models), over HTTP against the live server."""

import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.types import (
    ResourceServerScope,
    ResourceServerSubjectTypeAuthorization,
    ResourceServerSubjectTypeAuthorizationClient,
    ResourceServerSubjectTypeAuthorizationUser,
)

from oauthcore.models import AuditEvent
from tests.e2e.oauth_helpers import verify_jwt
from tests.management_sdk import client_credentials

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
ORDERS = "https://orders.example.com/"


def test_bootstrap_prints_one_json_object(bootstrap):
    assert set(bootstrap) == {"client_id", "client_secret", "audience", "token_endpoint"}
    assert bootstrap["audience"] == f"{ISSUER}/api/v2/"
    assert bootstrap["token_endpoint"] == f"{ISSUER}/oauth/token"


def test_api_app_and_grants_through_the_sdk_then_a_token(live_server, sdk, bootstrap):
    api = sdk.resource_servers.create(
        identifier=ORDERS,
        name="Orders",
        scopes=[
            ResourceServerScope(value="read:orders", description="Read your orders"),
            ResourceServerScope(value="write:orders", description="Change your orders"),
        ],
        subject_type_authorization=ResourceServerSubjectTypeAuthorization(
            user=ResourceServerSubjectTypeAuthorizationUser(policy="require_client_grant"),
            client=ResourceServerSubjectTypeAuthorizationClient(policy="require_client_grant"),
        ),
    )
    assert api.identifier == ORDERS and api.is_system is False and api.token_lifetime == 86400
    assert [scope.value for scope in api.scopes] == ["read:orders", "write:orders"]
    assert api.subject_type_authorization.user.policy == "require_client_grant"

    app = sdk.clients.create(
        name="Partner M2M",
        app_type="non_interactive",
        is_first_party=False,
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
    )
    assert app.client_id.startswith("tpc_") and len(app.client_id) == 26
    assert app.third_party_security_mode == "strict" and app.redirection_policy == "open_redirect_protection"
    assert app.client_secret

    default = sdk.client_grants.create(audience=ORDERS, default_for="third_party_clients", scope=["read:orders"])
    assert default.default_for == "third_party_clients" and default.client_id is None
    assert default.subject_type == "client" and default.id.startswith("cgr_")
    own = sdk.client_grants.create(client_id=app.client_id, audience=ORDERS, scope=["read:orders"])
    assert own.client_id == app.client_id and own.scope == ["read:orders"]

    sdk.resource_servers.update(api.id, name="Orders API", token_lifetime=3600)
    sdk.clients.update(app.client_id, description="Reads orders", is_first_party=False)
    sdk.client_grants.update(own.id, scope=["read:orders", "write:orders"])

    assert sdk.resource_servers.get(api.id).name == "Orders API"
    read_app = sdk.clients.get(app.client_id)
    assert read_app.description == "Reads orders" and read_app.is_first_party is False
    assert read_app.client_secret is None
    grants = list(sdk.client_grants.list(audience=ORDERS))
    assert {grant.id for grant in grants} == {default.id, own.id}
    assert sdk.client_grants.get(own.id).scope == ["read:orders", "write:orders"]
    assert any(c.client_id == app.client_id for c in sdk.clients.list(is_first_party=False))

    with pytest.raises(ApiError) as conflict:
        sdk.client_grants.create(client_id=app.client_id, audience=ORDERS, scope=["read:orders"])
    assert conflict.value.status_code == 409 and conflict.value.body["errorCode"] == "conflict"

    token = client_credentials(live_server, app.client_id, app.client_secret, ORDERS)
    assert token["scope"] == "read:orders write:orders" and token["expires_in"] == 3600
    claims = verify_jwt(live_server.url, token["access_token"], ORDERS, ISSUER)
    assert claims["sub"] == f"{app.client_id}@clients"

    events = AuditEvent.objects.filter(action="client_grant.create", actor_type="client")
    assert set(events.values_list("actor_id", flat=True)) == {bootstrap["client_id"]}
