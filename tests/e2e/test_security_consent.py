"""Attacks on the consent screen, in a real headless Chromium.

A self-registered app (dynamic registration, a client ID metadata document) chooses its own name and
logo, so it can call itself after a tenant's partner: its screens must say nobody vouches for it,
show where the code will go, and never show its logo. And the user's answer to a repeated consent
(``prompt=consent``) decides, in one tab or two: a decline gives no code, and what is unticked is
neither issued nor kept.
"""

import re
import threading

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from consent.models import UserGrant
from oauthcore.constants import CreatedVia, DefaultFor, RedirectionPolicy, SubjectType
from oauthcore.models import Application, Grant, TenantSettings
from tests.e2e import test_consent_browser
from tests.e2e.test_consent_browser import callback_params, checked_scopes, exchange, log_in, start
from tests.oauthcore.test_cimd import DocumentServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

ALL_SCOPES = "read:orders write:orders offline_access"
UNVERIFIED = "Unverified app"
# The name and logo of the tenant's real partner app, copied by the attacker.
BORROWED_LOGO = "https://cdn.acme-partners.example/acme-order-sync.png"

# The consent screen's fixtures: the Orders API, the callback, the partner's own app.
callback = test_consent_browser.callback
orders = test_consent_browser.orders
partner_app = test_consent_browser.partner_app


@pytest.fixture
def registered_app(live_server, orders, make_grant, callback):
    """An attacker's app, registered anonymously over HTTP under the name of a partner's app."""
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    response = requests.post(
        f"{live_server.url}/oidc/register",
        json={"client_name": "Acme Order Sync", "logo_uri": BORROWED_LOGO, "redirect_uris": [callback]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    app = Application.objects.get(client_id=body["client_id"])
    assert app.created_via == CreatedVia.DYNAMIC
    make_grant(orders, client=app, scope=["read:orders", "write:orders"], subject_type=SubjectType.USER)
    return app, body["client_secret"]


def strict_headers(response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy


# -- 8. an app nobody vouches for is marked, shows where the code goes, and shows no logo --------


def test_a_self_registered_app_is_marked_unverified_and_shows_no_logo(
    live_server, page, registered_app, artifacts, alice
):
    app, secret = registered_app
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert page.locator(".app-header").get_by_text(UNVERIFIED, exact=True).is_visible()
    assert page.get_by_text("This app registered itself").is_visible()
    assert page.locator("img").count() == 0  # the borrowed logo is nowhere on the page
    assert BORROWED_LOGO not in page.content()
    assert page.locator(".callback-host").inner_text() == "127.0.0.1"
    page.screenshot(path=str(artifacts / "consent-unverified.png"), full_page=True)
    strict_headers(page.reload())

    page.get_by_role("button", name="Accept").click()
    assert "code" in callback_params(page)

    page.goto(f"{live_server.url}/account/apps")
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Acme Order Sync"))
    assert item.get_by_text(UNVERIFIED, exact=True).is_visible()
    assert item.get_by_text("owner not verified").is_visible()
    page.screenshot(path=str(artifacts / "authorized-apps-unverified.png"), full_page=True)

    grant = UserGrant.objects.get(client=app)
    confirm = page.goto(f"{live_server.url}/account/apps/{grant.id}/revoke")  # the page without JavaScript
    strict_headers(confirm)
    page.get_by_role("heading", name="Revoke Acme Order Sync?").wait_for()
    assert page.get_by_text(UNVERIFIED, exact=True).is_visible()


def test_an_unverified_apps_error_page_is_marked_too(live_server, page, registered_app, alice):
    app, secret = registered_app
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("button", name="Decline").click()
    page.get_by_role("heading", name="No access given").wait_for()
    assert page.get_by_text(UNVERIFIED, exact=True).is_visible()


def test_a_partner_app_keeps_its_logo_and_shows_its_callback_host(live_server, page, partner_app, artifacts):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert page.get_by_text("Built by Acme Partners").is_visible()
    assert page.get_by_text(UNVERIFIED).count() == 0
    logo = page.get_by_role("img", name="Acme Order Sync logo")
    assert logo.is_visible() and logo.get_attribute("src") == app.logo_uri
    assert page.locator(".callback-host").inner_text() == "127.0.0.1"
    page.screenshot(path=str(artifacts / "consent-partner.png"), full_page=True)


@pytest.fixture
def document_server():
    server = DocumentServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_a_metadata_document_app_is_marked_unverified(
    live_server,
    page,
    settings,
    document_server,
    orders,
    make_grant,
    callback,
    artifacts,
    alice,
):
    """A client ID metadata document is anyone's URL: the app it describes is no more vouched for."""
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_client_id_metadata_documents": True})
    settings.PORTCULLIS = {**settings.PORTCULLIS, "CIMD_TEST_ALLOW_LOOPBACK": True}
    make_grant(orders, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:orders"], subject_type=SubjectType.USER)
    url = document_server.serve("/acme.json", None)
    document = {
        "client_id": url,
        "client_name": "Acme Order Sync",
        "logo_uri": BORROWED_LOGO,
        "redirect_uris": [callback],
    }
    document_server.serve("/acme.json", document)
    client = OAuth2Session(
        client_id=url,
        redirect_uri=callback,
        scope="read:orders",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    authorize_url, _state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier="v" * 64, audience=orders.identifier
    )
    page.goto(authorize_url)
    log_in(page)
    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert Application.objects.get(external_client_id=url).created_via == CreatedVia.CIMD
    assert page.locator(".app-header").get_by_text(UNVERIFIED, exact=True).is_visible()
    assert page.locator("img").count() == 0
    assert page.locator(".callback-host").inner_text() == "127.0.0.1"
    page.screenshot(path=str(artifacts / "consent-cimd.png"), full_page=True)


# -- 2. the answer to a repeated consent decides ---------------------------------------------------


def consented_before(page, live_server, app, secret):
    """Alice has consented to everything the app asks for, offline_access included."""
    client, _ = start(page, live_server, app, secret, ALL_SCOPES)
    log_in(page)
    page.get_by_role("button", name="Accept").click()
    token = exchange(live_server, client, page)
    assert "refresh_token" in token
    assert UserGrant.objects.get(client=app).scope == sorted(ALL_SCOPES.split())


@pytest.mark.parametrize("policy", [RedirectionPolicy.OPEN_REDIRECT_PROTECTION, RedirectionPolicy.ALLOW_ALWAYS])
def test_declining_a_repeated_consent_gives_no_code(live_server, page, partner_app, policy):
    app, secret = partner_app(redirection_policy=policy)
    consented_before(page, live_server, app, secret)
    codes = Grant.objects.count()

    _client, state = start(page, live_server, app, secret, ALL_SCOPES, prompt="consent")
    assert checked_scopes(page) == set(ALL_SCOPES.split())
    page.get_by_role("button", name="Decline").click()
    if policy == RedirectionPolicy.ALLOW_ALWAYS:
        params = callback_params(page)
        assert params["error"] == "access_denied" and params["state"] == state and "code" not in params
    else:
        page.get_by_role("heading", name="No access given").wait_for()
        assert page.url.startswith(live_server.url) and page.get_by_text("access_denied").is_visible()
    assert Grant.objects.count() == codes


def test_a_decline_in_a_second_tab_grants_nothing_and_the_first_tab_only_what_it_ticks(
    live_server, chromium, partner_app, alice
):
    """Two tabs show the same repeated consent; the second declines while the first is still open.

    The decline grants nothing, at once. The first tab's later Accept is the newer answer and
    decides, but only for what that form shows ticked: it can never issue more than the user ticks
    there, and what they untick there is taken out of the stored consent.
    """
    app, secret = partner_app()
    context = chromium.new_context()
    first, second = context.new_page(), context.new_page()
    consented_before(first, live_server, app, secret)
    codes = Grant.objects.count()

    client, _ = start(first, live_server, app, secret, ALL_SCOPES, prompt="consent")
    first.get_by_role("button", name="Accept").wait_for()
    start(second, live_server, app, secret, ALL_SCOPES, prompt="consent")
    second.get_by_role("button", name="Decline").click()
    second.get_by_role("heading", name="No access given").wait_for()
    assert second.get_by_text("access_denied").is_visible()
    assert Grant.objects.count() == codes  # the decline issued nothing

    first.get_by_label(re.compile("Place orders for you")).uncheck()
    first.get_by_label(re.compile("offline_access")).uncheck()
    first.get_by_role("button", name="Accept").click()
    token = exchange(live_server, client, first)
    assert token["scope"] == "read:orders" and "refresh_token" not in token
    assert UserGrant.objects.get(client=app).scope == ["read:orders"]
    context.close()


def test_unticking_offline_access_on_a_repeated_consent_gives_no_refresh_token(live_server, page, partner_app):
    app, secret = partner_app()
    consented_before(page, live_server, app, secret)

    client, _ = start(page, live_server, app, secret, ALL_SCOPES, prompt="consent")
    page.get_by_label(re.compile("offline_access")).uncheck()
    page.get_by_role("button", name="Accept").click()
    token = exchange(live_server, client, page)
    assert "refresh_token" not in token and token["scope"] == "read:orders write:orders"
    assert "offline_access" not in UserGrant.objects.get(client=app).scope

    # Asked again without prompt=consent, offline_access is asked for, not taken from the old consent.
    start(page, live_server, app, secret, ALL_SCOPES)
    page.get_by_role("button", name="Accept").wait_for()
    assert checked_scopes(page) == {"offline_access"}
