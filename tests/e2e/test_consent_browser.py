"""Consent as an end user sees it, in a real headless Chromium: every path of the consent and error rules
(``Rule.CONSENT``, ``Rule.AUTHORIZE_ERRORS`` in oauthcore.policy)."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from oauthcore.constants import AppType, GrantType, RedirectionPolicy, SubjectType, UserPolicy
from portal.partners.services.apps import partner_application_create
from portal.partners.services.partners import partner_create
from tests.celery_worker import wait_for
from tests.e2e.oauth_helpers import PASSWORD, oauth_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

VERIFIER = "v" * 64


@pytest.fixture
def callback(fake_app) -> str:
    return f"{fake_app}/callback"


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Place orders for you")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )


# The partner's logo, on its own https host: the browser is handed the project's icon for it.
LOGO_URI = "https://static.acme-partners.example/order-sync.svg"
LOGO_FILE = Path(__file__).resolve().parents[2] / "static" / "img" / "favicon.svg"


@pytest.fixture
def partner_app(actor, alice, orders, make_grant, callback, page):
    """A partner's strict third-party app with a grant for both Orders scopes (and an https logo the
    browser loads, so the screenshots show the consent screen as its users see it)."""
    page.route(LOGO_URI, lambda route: route.fulfill(path=str(LOGO_FILE), content_type="image/svg+xml"))

    def make(name="Acme Order Sync", **fields):
        partner = partner_create(actor=actor, name="Acme Partners", owner=alice)
        fields.setdefault("grant_types", [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN])
        issued = partner_application_create(
            actor=actor,
            partner=partner,
            name=name,
            app_type=AppType.REGULAR_WEB,
            is_first_party=False,
            callbacks=[callback],
            logo_uri=LOGO_URI,
            **fields,
        )
        make_grant(
            orders, client=issued.application, scope=["read:orders", "write:orders"], subject_type=SubjectType.USER
        )
        return issued.application, issued.client_secret

    return make


def start(page, live_server, app, secret, scope, **params):
    client = oauth_client(app, secret, app.callbacks[0], scope)
    url, state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience="https://orders.example.com/", **params
    )
    page.goto(url)
    return client, state


def log_in(page, username="alice"):
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def callback_params(page) -> dict[str, str]:
    page.wait_for_url(re.compile(r"/callback\?"))
    return {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}


def exchange(live_server, client, page):
    return client.fetch_token(f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER)


def checked_scopes(page) -> set[str]:
    boxes = page.locator("input[name=scope]")
    return {boxes.nth(i).get_attribute("value") for i in range(boxes.count()) if boxes.nth(i).is_checked()}


def test_first_consent_then_skip_on_repeat(live_server, page, partner_app, artifacts):
    app, secret = partner_app()
    csp_errors = []
    page.on(
        "console",
        lambda message: csp_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    client, state = start(page, live_server, app, secret, "read:orders offline_access")
    log_in(page)

    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert page.get_by_text("Built by Acme Partners").is_visible()
    assert page.get_by_text("alice@example.com").is_visible()
    assert page.get_by_role("group", name=re.compile("Orders API")).is_visible()
    assert page.get_by_label(re.compile("Read your orders")).is_checked()
    assert checked_scopes(page) == {"read:orders", "offline_access"}
    assert page.get_by_role("button", name="Accept").is_visible()
    assert page.get_by_role("button", name="Decline").is_visible()
    page.screenshot(path=str(artifacts / "consent.png"), full_page=True)

    page.get_by_role("button", name="Accept").click()
    params = callback_params(page)
    assert params["state"] == state and "code" in params
    token = exchange(live_server, client, page)
    assert token["scope"] == "offline_access read:orders"
    assert UserGrant.objects.get(client=app).scope == ["offline_access", "read:orders"]

    # The same request again: no screen, straight back to the app.
    client, state = start(page, live_server, app, secret, "read:orders offline_access")
    assert callback_params(page)["state"] == state
    assert csp_errors == []


def test_consent_page_cannot_be_framed_and_runs_no_inline_script(live_server, page, partner_app):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    # Wait for the login's redirect to land on the consent screen before reloading it.
    page.get_by_role("button", name="Accept").wait_for()
    response = page.reload()
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert page.locator("script:not([src])").count() == 0


def test_incremental_consent_shows_only_what_is_new(live_server, page, partner_app):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("button", name="Accept").click()
    callback_params(page)

    client, _ = start(page, live_server, app, secret, "read:orders write:orders")
    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert checked_scopes(page) == {"write:orders"}
    assert page.get_by_text("Already allowed: read:orders").is_visible()
    page.get_by_role("button", name="Accept").click()
    callback_params(page)
    assert exchange(live_server, client, page)["scope"] == "read:orders write:orders"


def test_prompt_consent_always_asks(live_server, page, partner_app):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("button", name="Accept").click()
    callback_params(page)
    start(page, live_server, app, secret, "read:orders", prompt="consent")
    page.get_by_role("button", name="Accept").wait_for()
    assert checked_scopes(page) == {"read:orders"}


def test_partial_consent_gives_only_what_was_approved(live_server, page, partner_app):
    app, secret = partner_app()
    client, _ = start(page, live_server, app, secret, "read:orders write:orders")
    log_in(page)
    page.get_by_label(re.compile("Place orders for you")).uncheck()
    page.get_by_role("button", name="Accept").click()
    callback_params(page)
    assert exchange(live_server, client, page)["scope"] == "read:orders"
    assert UserGrant.objects.get(client=app).scope == ["read:orders"]


def test_unticking_everything_is_declining(live_server, page, partner_app):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_label(re.compile("Read your orders")).uncheck()
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("heading", name="No access given").wait_for()
    assert page.get_by_text("access_denied").is_visible()
    assert not UserGrant.objects.exists()


def test_decline_with_open_redirect_protection_stays_on_our_page(live_server, page, partner_app):
    app, secret = partner_app()
    start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("button", name="Decline").click()
    page.get_by_role("heading", name="No access given").wait_for()
    assert page.url.startswith(live_server.url)
    assert page.get_by_text("access_denied").is_visible()


def test_decline_with_allow_always_goes_back_to_the_app(live_server, page, partner_app):
    app, secret = partner_app(redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)
    _client, state = start(page, live_server, app, secret, "read:orders")
    log_in(page)
    page.get_by_role("button", name="Decline").click()
    params = callback_params(page)
    assert params["error"] == "access_denied" and params["state"] == state


def test_revoke_from_authorized_apps_stops_the_refresh_token(live_server, page, partner_app, artifacts):
    app, secret = partner_app()
    client, _ = start(page, live_server, app, secret, "read:orders offline_access")
    log_in(page)
    page.get_by_role("button", name="Accept").click()
    callback_params(page)
    token = exchange(live_server, client, page)

    page.goto(f"{live_server.url}/account/apps")
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Acme Order Sync"))
    assert item.get_by_text("Read your orders").is_visible()
    assert item.get_by_text("By Acme Partners").is_visible()
    page.screenshot(path=str(artifacts / "authorized-apps.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())  # htmx's confirmation
    item.get_by_role("button", name="Revoke").click()
    page.get_by_text("Acme Order Sync no longer has access to your account.").wait_for()
    assert not UserGrant.objects.exists()

    def refresh_refused():
        try:
            client.refresh_token(f"{live_server.url}/oauth/token", refresh_token=token["refresh_token"])
        except OAuthError as error:
            return error.error == "invalid_grant"
        return False

    wait_for(refresh_refused, message="the refresh token stops working once the revocation task ran")


def test_revoke_works_without_javascript(live_server, chromium, partner_app, alice):
    app, _secret = partner_app()
    from consent.services import user_grant_record

    user_grant_record(user=alice, client=app, audience="https://orders.example.com/", scopes=["read:orders"])
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/account/apps")
    log_in(page)
    page.wait_for_url("**/account/apps")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("heading", name="Revoke Acme Order Sync?").wait_for()
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/account/apps")
    assert page.get_by_text("Acme Order Sync no longer has access to your account.").is_visible()
    assert page.get_by_text("You have not authorized any app.").is_visible()
    context.close()


def test_another_users_consent_cannot_be_revoked(live_server, page, partner_app, alice):
    app, _ = partner_app()
    from consent.services import user_grant_record

    grant = user_grant_record(user=alice, client=app, audience="https://orders.example.com/", scopes=["read:orders"])
    get_user_model().objects.create_user(username="mallory", password=PASSWORD)
    page.goto(f"{live_server.url}/login")
    log_in(page, "mallory")
    response = page.goto(f"{live_server.url}/account/apps/{grant.id}/revoke")
    assert response.status == 404
    assert UserGrant.objects.filter(pk=grant.pk).exists()


def test_pages_are_readable_on_a_phone(live_server, chromium, partner_app, artifacts):
    app, secret = partner_app()
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    start(page, live_server, app, secret, "read:orders write:orders offline_access")
    log_in(page)
    page.get_by_role("button", name="Accept").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "consent-phone.png"), full_page=True)
    context.close()
