"""Where a provider may be: Portcullis itself fetches a connection's discovery document, keys,
tokens and metadata, so the addresses a connection names are checked before any request. In
production (``FEDERATION_ALLOW_LOOPBACK`` off) nothing on this machine may be named: a setup link's
holder, who has no account here, must not reach services that listen on loopback only."""

import pytest

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import strategy_for
from oauthcore.federation.common_options import provider_url_error


@pytest.fixture
def production(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "FEDERATION_ALLOW_LOOPBACK": False}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "https://localhost/.well-known/openid-configuration",
        "http://[::1]:5432/metadata",
        "https://127.0.0.2/",
        "http://admin.localhost/",
    ],
)
def test_nothing_on_this_machine_is_a_provider_in_production(production, url):
    assert "loopback addresses are refused" in provider_url_error(url)


def test_the_strategies_refuse_it_before_any_request(production, identity_provider, saml_idp):
    """Both providers are really there, on loopback: the refusal is the address rule, not a failed fetch."""
    oidc = strategy_for(ConnectionStrategy.OIDC).check_options(
        {"discovery_url": identity_provider.discovery_url, "client_id": "c", "client_secret": "s"}, current=None
    )
    assert "loopback addresses are refused" in oidc.errors["discovery_url"]
    samlp = strategy_for(ConnectionStrategy.SAML).check_options({"metadataUrl": saml_idp.entity_id}, current=None)
    assert "loopback addresses are refused" in samlp.errors["metadataUrl"]


def test_a_public_https_provider_is_fine_and_plain_http_elsewhere_is_not(production):
    assert provider_url_error("https://login.acme.example/.well-known/openid-configuration") is None
    assert "https" in provider_url_error("http://login.acme.example/.well-known/openid-configuration")
