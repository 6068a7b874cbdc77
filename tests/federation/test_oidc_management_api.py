"""An oidc connection made and changed through the management API (Auth0's POST and PATCH
/api/v2/connections): its options checked against the provider, its client secret write-only."""

import pytest

from oauthcore.models import Connection
from tests.federation.oidc_idp import BASIC_CLIENT
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api):
    return api("read:connections", "create:connections", "update:connections")


def test_the_client_secret_is_accepted_sealed_and_never_shown(admin, identity_provider):
    secret = identity_provider.clients[BASIC_CLIENT]
    options = {
        "discovery_url": identity_provider.discovery_url,
        "client_id": BASIC_CLIENT,
        "client_secret": secret,
        "domain_aliases": ["acme.test"],
    }

    created = admin.post("/api/v2/connections", {"name": "acme", "strategy": "oidc", "options": options}, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["options"]["oidc_metadata"]["issuer"] == identity_provider.issuer
    assert body["options"]["type"] == "back_channel" and body["options"]["domain_aliases"] == ["acme.test"]
    assert secret not in created.content.decode() and "client_secret" not in body["options"]
    shown = admin.get(f"/api/v2/connections/{body['id']}")
    assert secret not in shown.content.decode()
    connection = Connection.objects.get(name="acme")
    assert connection.secrets == {"client_secret": secret}
    assert secret not in connection.sealed_secrets

    changed = admin.patch(
        f"/api/v2/connections/{body['id']}",
        {"options": {**body["options"], "scope": "openid email"}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["options"]["scope"] == "openid email"
    connection.refresh_from_db()
    assert connection.secrets == {"client_secret": secret}  # left out, so kept


def test_options_the_provider_contradicts_are_a_400_naming_the_option(admin, identity_provider):
    options = {
        "discovery_url": identity_provider.discovery_url,
        "issuer": "https://login.acme.test",
        "client_id": BASIC_CLIENT,
        "client_secret": "s",
        "type": "front_channel",
    }

    refused = admin.post("/api/v2/connections", {"name": "acme", "strategy": "oidc", "options": options}, format="json")

    body = assert_error(refused, 400, "invalid_body")
    assert "options.issuer" in body["message"] and "options.type" in body["message"]
    assert not Connection.objects.filter(name="acme").exists()
