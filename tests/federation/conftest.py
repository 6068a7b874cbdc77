"""Identity providers for the enterprise connections' tests: panva's oidc-provider, a real one, and
a misbehaving stand-in; connections to them made through the strategy's own option checks."""

import secrets

import pytest
from django.test import RequestFactory

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import strategy_for
from oauthcore.services.connections import connection_create
from tests.federation.fake_idp import FakeProvider
from tests.federation.oidc_idp import start_identity_provider, stop

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
