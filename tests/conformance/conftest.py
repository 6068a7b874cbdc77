"""The conformance suite's tenant and its outside clients, against the live server.

The issuer is the live server itself, as strict clients compare the metadata's ``issuer``, the
authorization response's ``iss`` and the tokens' ``iss`` with the URL they were given.
"""

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from oauthcore.constants import AppType, GrantType, RedirectionPolicy, SubjectType, UserPolicy
from oauthcore.models import TenantSettings
from oauthcore.services.applications import application_create
from tests.e2e.conftest import alice  # noqa: F401  (a fixture)
from tests.e2e.oauth_helpers import Browser

NODE_CLIENTS = Path(__file__).parent / "node"
CALLBACK = "http://127.0.0.1:9999/callback"
NATIVE_CALLBACK = "com.example.app:/cb"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def issuer(live_server, settings, fast_password_hashing):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url, "DEVICE_POLL_INTERVAL": 1}
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": live_server.url,
        "OIDC_USERINFO_ENDPOINT": f"{live_server.url}/userinfo",
    }
    return live_server.url


def _issue(actor, **fields):
    fields.setdefault("callbacks", [CALLBACK])
    issued = application_create(actor=actor, **fields)
    return SimpleNamespace(app=issued.application, client_id=issued.application.client_id, secret=issued.client_secret)


@pytest.fixture
def tenant(issuer, actor, make_api, make_grant, alice):  # noqa: F811
    """The cast every conformance test draws from, made through the services.

    - ``api``: the Orders API, offline access allowed, introspected by its own client ``api_client``;
    - ``first_party``: the tenant's own confidential web app (code, refresh, OIDC);
    - ``strict``: a partner's strict third-party web app (PKCE, consent, no OIDC, errors on our page);
    - ``open``: a third-party app that lets errors go back to its callback (redirection policy
      *allow always*), with a native private-use callback too;
    - ``m2m``: a machine client with a client grant; ``device``: a first-party public device app.
    """
    api_client = _issue(actor, name="Orders API", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    api = make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Change your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
        client=api_client.app,
    )
    code_grants = [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN]
    first_party = _issue(actor, name="Own App", app_type=AppType.REGULAR_WEB, grant_types=code_grants)
    make_grant(api, client=first_party.app, scope=["read:orders"], subject_type=SubjectType.USER)
    strict = _issue(
        actor, name="Partner App", app_type=AppType.REGULAR_WEB, is_first_party=False, grant_types=code_grants
    )
    make_grant(api, client=strict.app, scope=["read:orders"], subject_type=SubjectType.USER)
    open_app = _issue(
        actor,
        name="Open App",
        app_type=AppType.NATIVE,
        is_first_party=False,
        grant_types=code_grants,
        callbacks=[CALLBACK, NATIVE_CALLBACK],
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )
    make_grant(api, client=open_app.app, scope=["read:orders"], subject_type=SubjectType.USER)
    m2m = _issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(api, client=m2m.app, scope=["read:orders"])
    device = _issue(
        actor, name="Living Room TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    )
    make_grant(api, client=device.app, scope=["read:orders"], subject_type=SubjectType.USER)
    return SimpleNamespace(
        issuer=issuer,
        api=api,
        api_client=api_client,
        first_party=first_party,
        strict=strict,
        open=open_app,
        m2m=m2m,
        device=device,
        user=alice,
    )


@pytest.fixture
def registration_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})


@pytest.fixture
def browser(tenant) -> Browser:
    """Alice's browser, logged in to the live server."""
    browser = Browser(tenant.issuer)
    assert browser.login("alice").status_code == 302
    return browser


def consented(tenant, client, audience: str, scopes) -> None:
    """Alice consented before, so /authorize answers at once (the consent screen is tested elsewhere)."""
    from oauthcore.consents import consent_store

    consent_store().record(user=tenant.user, client=client.app, audience=audience, scopes=scopes)


def session_cookie(browser: Browser) -> str:
    return "; ".join(f"{name}={value}" for name, value in browser.session.cookies.items())


def node_command(scenario: str) -> list[str]:
    node = shutil.which("node")
    if node is None or not (NODE_CLIENTS / "node_modules").is_dir():
        pytest.fail("The Node clients are needed: `npm ci` in tests/conformance/node (as .ci/run does).")
    return [node, str(NODE_CLIENTS / "clients.mjs"), scenario]


def run_node(scenario: str, config: dict) -> dict:
    """Run one scenario of the Node clients; its checks by name, each ``{"ok": …, "detail": …}``."""
    done = subprocess.run(
        node_command(scenario), input=json.dumps(config), capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])["checks"]


def failed(checks: dict, *names: str) -> dict:
    """The checks among ``names`` (all when none is named) that did not pass, with why."""
    return {name: check["detail"] for name, check in checks.items() if (not names or name in names) and not check["ok"]}


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=10, allow_redirects=False, **kwargs)


@pytest.fixture
def requests_session():
    """A client with no session at the server: nobody is logged in."""
    with requests.Session() as session:
        yield session
