"""Identity providers for the enterprise strategies' tests, each a real one on a loopback port:
panva's oidc-provider, a pysaml2 SAML provider, and a misbehaving OpenID stand-in; connections to
them set up the way an admin would (options checked by the strategy, SP metadata loaded into the
SAML provider)."""

import secrets
from dataclasses import dataclass

import pytest
from django.test import RequestFactory

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml, strategy_for
from oauthcore.services.connections import connection_create, connection_set_domain_level
from tests.federation.e2e import ORDERS
from tests.federation.fake_idp import FakeProvider
from tests.federation.oidc_idp import BASIC_CLIENT, start_identity_provider, stop
from tests.federation.saml_idp import SamlIdp

DEFAULT_CALLBACK = "http://127.0.0.1:8000/login/callback"  # {ISSUER}/login/callback with the test settings


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    provider = start_identity_provider([DEFAULT_CALLBACK], tmp_path_factory.mktemp("oidc") / "oidc-provider.log")
    yield provider
    stop(provider)


@pytest.fixture(scope="session")
def _fake_provider():
    fake = FakeProvider()
    yield fake
    fake.stop()


@pytest.fixture
def fake_provider(_fake_provider):
    _fake_provider.reset()
    yield _fake_provider
    _fake_provider.reset()


@pytest.fixture
def oidc():
    return strategy_for(ConnectionStrategy.OIDC)


@pytest.fixture
def make_oidc_connection(db, actor):
    """A connection made as the management API makes one: its options checked by the strategy (its
    discovery document fetched), its secret sealed apart."""

    def make(name="acme", **options):
        return connection_create(actor=actor, name=name, strategy=ConnectionStrategy.OIDC, options=options)

    return make


@pytest.fixture
def rf():
    return RequestFactory()


@pytest.fixture
def callback(rf):
    """The provider's answer as it reaches /login/callback: the query of the URL it sent the browser to."""

    def make(location_or_params):
        if isinstance(location_or_params, str):
            return rf.get(location_or_params.removeprefix("http://127.0.0.1:8000"))
        return rf.get("/login/callback", location_or_params)

    return make


@pytest.fixture
def state():
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def live_identity_provider(live_server, tmp_path_factory):
    """The provider the live server's sign-ins go to: it sends the browser back to the live server."""
    log = tmp_path_factory.mktemp("oidc-live") / "oidc-provider.log"
    provider = start_identity_provider([f"{live_server.url}/login/callback"], log)
    yield provider
    stop(provider)


@dataclass
class Cast:
    connection: object
    app: object
    secret: str


@pytest.fixture
def cast(live_server, settings, actor, make_partner_app, live_identity_provider, make_oidc_connection):
    """The end-to-end sign-ins' cast: the live server as its own issuer (so the redirect URI
    ``{issuer}/login/callback`` reaches it), a domain-level oidc connection to the live provider with
    the alias acme.test, and a partner's strict third-party app with a grant on the Orders API."""

    def make(callback: str) -> Cast:
        settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url}
        connection = make_oidc_connection(
            name="acme",
            discovery_url=live_identity_provider.discovery_url,
            client_id=BASIC_CLIENT,
            client_secret=live_identity_provider.clients[BASIC_CLIENT],
            domain_aliases=["acme.test"],
        )
        connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
        application, secret, _orders = make_partner_app(callback, name="Acme Order Sync", identifier=ORDERS)
        return Cast(connection=connection, app=application, secret=secret)

    return make


@pytest.fixture
def saml_idp():
    idp = SamlIdp()
    yield idp
    idp.close()


@pytest.fixture
def make_saml_connection(actor, saml_idp):
    """A ``samlp`` connection to ``saml_idp`` from its metadata URL; ``options`` override or add."""
    counter = iter(range(1, 1000))

    def make(name=None, *, require_signed_requests=False, **options):
        connection = connection_create(
            actor=actor,
            name=name or f"acme-saml-{next(counter)}",
            strategy=ConnectionStrategy.SAML,
            options={"metadataUrl": saml_idp.entity_id, **options},
        )
        saml_idp.trust_sp(saml.sp_metadata(connection), require_signed_requests=require_signed_requests)
        return connection

    return make


# Management API callers (tests/oauthcore/api/conftest.py): a bearer token with the scopes asked for.
from tests.oauthcore.api.conftest import api, caller, make_token  # noqa: E402, F401
