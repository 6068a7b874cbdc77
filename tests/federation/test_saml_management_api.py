"""``samlp`` connections through the management API (``/api/v2/connections``, Auth0's shapes): the
options come back normalised with our SP certificate, the signing key never comes back, a metadata
URL that is down is an error naming the option, and an update keeps the sealed key."""

import socket

import pytest
from saml2 import BINDING_HTTP_POST

from oauthcore.models import Connection
from tests.oauthcore.api.conftest import api, caller, make_token  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api):  # noqa: F811
    return api("read:connections", "create:connections", "update:connections")


def test_create_read_and_update_a_saml_connection(admin, saml_idp):
    created = admin.post(
        "/api/v2/connections",
        {"name": "acme", "strategy": "samlp", "options": {"metadataUrl": saml_idp.entity_id, "signSAMLRequest": True}},
        format="json",
    )

    assert created.status_code == 201, created.json()
    options = created.json()["options"]
    assert options["idpEntityId"] == saml_idp.entity_id and options["signSAMLRequest"] is True
    assert "BEGIN CERTIFICATE" in options["sp_signing_cert"]
    key = Connection.objects.get(name="acme").secrets["signing_key"]
    assert "signing_key" not in options and key.splitlines()[1] not in created.content.decode()
    read = admin.get(f"/api/v2/connections/{created.json()['id']}")
    assert "PRIVATE KEY" not in read.content.decode()

    updated = admin.patch(
        f"/api/v2/connections/{created.json()['id']}",
        {"options": {"metadataUrl": saml_idp.entity_id, "protocolBinding": BINDING_HTTP_POST}},
        format="json",
    )

    assert updated.status_code == 200, updated.json()
    assert updated.json()["options"]["signInEndpoint"] == f"{saml_idp.base}/sso/post"
    assert updated.json()["options"]["sp_signing_cert"] == options["sp_signing_cert"]
    assert Connection.objects.get(name="acme").secrets["signing_key"] == key


def test_a_metadata_url_that_is_down_is_a_400_naming_the_option(admin):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    refused = admin.post(
        "/api/v2/connections",
        {"name": "acme", "strategy": "samlp", "options": {"metadataUrl": f"http://127.0.0.1:{port}/metadata"}},
        format="json",
    )

    assert refused.status_code == 400
    assert "metadataUrl" in refused.content.decode() and "could not be reached" in refused.content.decode()
    assert not Connection.objects.filter(name="acme").exists()
