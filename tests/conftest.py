"""Shared fixtures. Objects are made through the project's own services, never mocked."""

import pytest

from oauthcore.audit import Actor
from oauthcore.constants import AppType, GrantType, SubjectType, UserPolicy
from oauthcore.services.applications import application_create
from oauthcore.services.client_grants import client_grant_create
from oauthcore.services.organizations import (
    organization_connection_add,
    organization_create,
    organization_members_add,
)
from oauthcore.services.resource_servers import resource_server_create
from portal.partners.services.apps import partner_application_create

pytest_plugins = ["tests.celery_worker", "tests.smtp", "tests.browser", "tests.management_sdk"]


def _on_postgresql() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "portal.platform.db.postgresql"


# Tests of the PostgreSQL backend itself, and of races only a server database runs in parallel:
# collected when the suite runs on PostgreSQL.
collect_ignore = (
    []
    if _on_postgresql()
    else [
        "platform/test_db_backend.py",
        "oauthcore/test_code_race.py",
        "oauthcore/test_account_link_race.py",
        "oauthcore/test_mfa_race.py",
        "oauthcore/test_device_poll_race.py",
        "oauthcore/test_security_signin_postgresql.py",
    ]
)


def pytest_configure(config):
    """Live-server request threads each open their own database connection: with persistent
    connections they would outlive the test session and keep the test database from being dropped."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The tests' identity providers listen on loopback (production refuses providers there).
    settings.PORTCULLIS["FEDERATION_ALLOW_LOOPBACK"] = True


@pytest.fixture
def actor():
    return Actor.system("tests")


@pytest.fixture
def fast_password_hashing(settings):
    """Django's slow default hasher costs seconds over a module; tests not about it use a fast one
    for passwords, while client secrets keep their own hasher."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "oauthcore.credentials.ClientSecretHasher",
    ]


@pytest.fixture
def make_api(actor):
    counter = iter(range(1, 10_000))

    def make(
        identifier=None, name=None, scopes=(("read:things", "Read things"), ("write:things", "Write things")), **fields
    ):
        n = next(counter)
        return resource_server_create(
            actor=actor,
            identifier=identifier or f"https://api{n}.example.com/",
            name=name or f"API {n}",
            scopes=scopes,
            **fields,
        )

    return make


@pytest.fixture
def make_app(actor):
    def make(name="App", app_type=AppType.REGULAR_WEB, partner=None, **fields):
        fields.setdefault("callbacks", ["https://app.example.com/callback"])
        if partner is not None:  # owned by a partner: the partner app links it
            return partner_application_create(
                actor=actor, partner=partner, name=name, app_type=app_type, **fields
            ).application
        return application_create(actor=actor, name=name, app_type=app_type, **fields).application

    return make


@pytest.fixture
def make_grant(actor):
    def make(api, client=None, default_for=None, subject_type=SubjectType.CLIENT, **fields):
        return client_grant_create(
            actor=actor,
            audience=api.identifier,
            client=client,
            default_for=default_for,
            subject_type=subject_type,
            **fields,
        )

    return make


@pytest.fixture
def make_organization(actor):
    """An organization made through its services: ``members`` (users), ``connections`` (a
    Connection, or a (Connection, {assign_membership_on_login, show_as_button, is_signup_enabled})
    pair), ``third_party`` True for third_party_client_access allow."""

    def make(name="acme", *, members=(), connections=(), third_party=False, **fields):
        access = {"third_party_client_access": "allow"} if third_party else {}
        organization = organization_create(actor=actor, name=name, **access, **fields)
        for item in connections:
            connection, options = item if isinstance(item, tuple) else (item, {})
            organization_connection_add(actor=actor, organization=organization, connection=connection, **options)
        if members:
            organization_members_add(actor=actor, organization=organization, users=members)
        return organization

    return make


@pytest.fixture
def make_partner_app(actor, make_api, make_grant):
    """A partner's strict third-party web app with a user grant on an Orders API (``read:orders``):
    the app a customer's users sign in to. Returns (application, client secret, the API)."""

    def make(callback: str, *, name: str = "Partner App", identifier: str = "https://orders.example.com/"):
        orders = make_api(
            identifier=identifier,
            name="Orders API",
            scopes=[("read:orders", "Read your orders")],
            user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        )
        issued = application_create(
            actor=actor,
            name=name,
            app_type=AppType.REGULAR_WEB,
            is_first_party=False,
            callbacks=[callback],
            grant_types=[GrantType.AUTHORIZATION_CODE],
        )
        make_grant(orders, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
        return issued.application, issued.client_secret, orders

    return make


@pytest.fixture(autouse=True)
def _fresh_signing_key_cache():
    """Each test starts from its own database, so no process may remember another test's key."""
    from oauthcore import policy_cache
    from oauthcore.keys import clear_cache

    clear_cache()
    policy_cache.clear()
    yield
    clear_cache()
    policy_cache.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters and cached lookups never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def oauth_tenant(actor, make_api, make_grant):
    """The usual cast, made through the services: an API whose own client may introspect its
    tokens, a machine client with a grant, and a strict third-party web app (callback
    ``https://partner.example.com/callback``) with a user-delegated grant. Credentials are the
    ``IssuedCredentials`` (application and plain secret)."""
    from types import SimpleNamespace

    from oauthcore.constants import GrantType, UserPolicy

    api_client = application_create(actor=actor, name="Orders API", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    api = make_api(
        identifier="https://orders.example.com/",
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
        client=api_client.application,
    )
    m2m = application_create(actor=actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(api, client=m2m.application, scope=["read:things"])
    web = application_create(
        actor=actor,
        name="Partner",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=["https://partner.example.com/callback"],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    make_grant(api, client=web.application, scope=["read:things"], subject_type=SubjectType.USER)
    return SimpleNamespace(api=api, api_client=api_client, m2m=m2m, web=web)
