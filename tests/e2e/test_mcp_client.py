"""An MCP client (the official MCP Python SDK) against an MCP server protected by ``oauthcore.protect``.

The client knows only the server's URL. It is refused with a 401 whose challenge points at the
server's RFC 9728 metadata, finds Portcullis there, reads its RFC 8414 metadata, registers itself
(RFC 7591), runs authorization code + PKCE with ``resource`` (RFC 8707) while a person logs in
and consents in Chromium, and calls a tool with the token. Without a default permission for the
server's API, the person sees the documented refusal instead and the client gets no token.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from oauthcore.constants import CreatedVia, DefaultFor, SubjectType, UserPolicy
from oauthcore.models import Application, AuditEvent, TenantSettings
from tests.e2e.mcp_fixtures import TOOL_SCOPE, McpClientRun, UserGaveUp, start_mcp_server
from tests.e2e.oauth_helpers import PASSWORD, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issuer(live_server, settings):
    """Portcullis' issuer is the live server, as the client checks metadata and ``iss`` against it."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url}
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    return live_server.url


@pytest.fixture
def mcp_server(issuer):
    server = start_mcp_server(issuer)
    yield server
    server.stop()


@pytest.fixture
def mcp_api(make_api, mcp_server):
    """The MCP server's API in Portcullis: its identifier is the server's URL (the RFC 8707 resource)."""
    return make_api(
        identifier=mcp_server.url,
        name="Echo MCP server",
        scopes=[(TOOL_SCOPE, "Use the echo tools")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


def log_in_and_answer(page, authorization_url: str, *, accept: bool = True) -> None:
    page.goto(authorization_url)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Accept" if accept else "Decline").click()


def test_the_server_challenges_with_its_metadata(mcp_server, mcp_api, issuer):
    """What an MCP client sees first, as plain HTTP: RFC 6750 and RFC 9728."""
    response = requests.post(mcp_server.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    assert response.status_code == 401
    metadata_url = f"{mcp_server.url.rsplit('/mcp', 1)[0]}/.well-known/oauth-protected-resource/mcp"
    assert response.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{metadata_url}", scope="{TOOL_SCOPE}"'
    metadata = requests.get(metadata_url, timeout=10).json()
    assert metadata["resource"] == mcp_server.url
    assert metadata["authorization_servers"] == [issuer]
    assert metadata["scopes_supported"] == [TOOL_SCOPE]

    forged = requests.post(mcp_server.url, headers={"Authorization": "Bearer not.a.jwt"}, json={}, timeout=10)
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    assert forged.json()["error"] == "invalid_token"


def test_an_mcp_client_registers_gets_consent_and_calls_a_tool(
    page, artifacts, alice, fake_app, mcp_server, mcp_api, make_grant, issuer
):
    make_grant(mcp_api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=[TOOL_SCOPE], subject_type=SubjectType.USER)
    run = McpClientRun(server_url=mcp_server.url, callback=f"{fake_app}/callback").start()

    authorization_url = run.next_authorization_url()
    query = parse_qs(urlsplit(authorization_url).query)
    assert authorization_url.startswith(f"{issuer}/authorize?")
    assert query["resource"] == [mcp_server.url] and query["code_challenge_method"] == ["S256"]
    # The server's scope, and offline_access, which the SDK adds when it can refresh (the API allows none).
    assert query["scope"][0].split() == [TOOL_SCOPE, "offline_access"]
    registered = Application.objects.get(client_id=query["client_id"][0])
    assert registered.created_via == CreatedVia.DYNAMIC and registered.is_strict_third_party
    assert registered.client_id.startswith("tpc_") and registered.name == "Agent under test"

    page.goto(authorization_url)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Authorize Agent under test").is_visible()
    assert page.get_by_text("Use the echo tools").is_visible()
    page.screenshot(path=str(artifacts / "mcp-consent.png"))
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    run.complete(page.url)
    run.join()

    assert run.error is None, repr(run.error)
    assert not run.result.is_error
    assert run.result.content[0].text == "echo: hello from the agent"
    assert mcp_server.seen_subjects and set(mcp_server.seen_subjects) == {alice.user_id}
    claims = verify_jwt(issuer, run.storage.tokens.access_token, mcp_server.url, issuer)
    assert claims["aud"] == mcp_server.url and claims["sub"] == alice.user_id
    assert claims["client_id"] == registered.client_id and claims["scope"] == TOOL_SCOPE


def test_without_a_default_permission_the_client_is_refused(page, alice, fake_app, mcp_server, mcp_api, issuer):
    run = McpClientRun(server_url=mcp_server.url, callback=f"{fake_app}/callback").start()
    authorization_url = run.next_authorization_url()
    client_id = parse_qs(urlsplit(authorization_url).query)["client_id"][0]

    page.goto(authorization_url)
    # Strict third-party apps have open redirect protection: the refusal is shown on our own page.
    assert page.locator(".error-code").inner_text() == "access_denied"
    expected = f'Client "{client_id}" is not authorized to access resource server "{mcp_server.url}".'
    assert page.get_by_text(expected).is_visible()
    assert urlsplit(page.url).netloc == urlsplit(issuer).netloc
    run.complete(None)
    run.join()

    assert isinstance(run.error, UserGaveUp) or "no authorization code came back" in repr(run.error)
    assert run.storage.tokens is None and mcp_server.seen_subjects == []
    denial = AuditEvent.objects.get(action="access.denied", actor_id=client_id)
    assert denial.data["reason"] == "client_grant_missing" and denial.data["audience"] == mcp_server.url
