"""Enterprise connections managed through Auth0's own Python SDK, over HTTP against the live server:
``connections.create`` / ``update`` / ``get`` / ``list`` with the ``oidc`` and ``samlp`` strategies,
their options checked against the real providers, secret options accepted and never given back."""

import pytest
from auth0.management.core.api_error import ApiError

from oauthcore.models import Connection, ConnectionDomain
from tests.federation.oidc_idp import BASIC_CLIENT

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_oidc_connection_through_the_sdk(sdk, identity_provider):
    secret = identity_provider.clients[BASIC_CLIENT]
    created = sdk.connections.create(
        name="acme",
        strategy="oidc",
        display_name="Acme Corp",
        is_domain_connection=True,
        options={
            "discovery_url": identity_provider.discovery_url,
            "client_id": BASIC_CLIENT,
            "client_secret": secret,
            "scope": "openid profile email",
            "type": "back_channel",
            "domain_aliases": ["acme.test"],
        },
    )
    assert (created.name, created.strategy, created.is_domain_connection) == ("acme", "oidc", True)
    options = created.options.model_dump() if hasattr(created.options, "model_dump") else dict(created.options)
    assert options["oidc_metadata"]["issuer"] == identity_provider.issuer
    assert options["client_id"] == BASIC_CLIENT and "client_secret" not in options

    read = sdk.connections.get(created.id)
    assert '"client_secret":' not in read.model_dump_json() and secret not in read.model_dump_json()
    assert [c.name for c in sdk.connections.list(strategy=["oidc"])] == ["acme"]

    sdk.connections.update(
        created.id,
        display_name="Acme Corporation",
        options={"discovery_url": identity_provider.discovery_url, "client_id": BASIC_CLIENT, "domain_aliases": []},
    )
    stored = Connection.objects.get(pk=created.id)
    assert stored.display_name == "Acme Corporation"
    assert stored.secrets["client_secret"] == secret  # left out of the update: kept, sealed
    assert not ConnectionDomain.objects.filter(connection=stored).exists()  # the alias went with the options


def test_a_saml_connection_through_the_sdk(sdk, saml_idp):
    created = sdk.connections.create(
        name="globex",
        strategy="samlp",
        options={"metadataUrl": saml_idp.entity_id, "signSAMLRequest": True, "domain_aliases": ["globex.test"]},
    )
    options = created.options.model_dump() if hasattr(created.options, "model_dump") else dict(created.options)
    assert options["idpEntityId"] == saml_idp.entity_id and "BEGIN CERTIFICATE" in options["sp_signing_cert"]
    assert "PRIVATE KEY" not in sdk.connections.get(created.id).model_dump_json()
    assert ConnectionDomain.objects.get(domain="globex.test").connection_id == created.id


def test_options_the_provider_refutes_come_back_as_auth0s_error(sdk, identity_provider):
    with pytest.raises(ApiError) as refused:
        sdk.connections.create(
            name="acme",
            strategy="oidc",
            options={
                "discovery_url": identity_provider.discovery_url,
                "client_id": BASIC_CLIENT,
                "type": "front_channel",
            },
        )
    assert refused.value.status_code == 400
    assert refused.value.body["errorCode"] == "invalid_body"
    assert "options.type: front_channel" in refused.value.body["message"]
    assert not Connection.objects.filter(name="acme").exists()
