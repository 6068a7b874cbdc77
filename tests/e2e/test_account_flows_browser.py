"""End users' account flows in a real Chromium, with the real Celery worker delivering over SMTP:
sign-up from an app's login page, the verification email, its link; a forgotten password, the reset
email, the new password, and what the reset takes away (the other browser's session, the app's
refresh token at /oauth/token)."""

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model

from oauthcore.constants import AppType, GrantType, RedirectionPolicy, SubjectType, UserPolicy
from oauthcore.models import AccountLink, AuditEvent
from oauthcore.services.applications import application_create
from tests.celery_worker import wait_for
from tests.e2e.console import overflow
from tests.e2e.oauth_helpers import PASSWORD, oauth_client, verify_jwt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

ORDERS = "https://orders.example.com/"
NEW_PASSWORD = "a brand new browser passphrase 7"
VERIFIER = "b" * 64


@pytest.fixture
def issuer(live_server, settings):
    """Emailed links point at the issuer: here the live server, so the browser can open them."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url}
    return live_server.url


@pytest.fixture
def watch_csp(page):
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def email_to(smtp, address: str, subject_start: str):
    def arrived():
        return next((m for m in smtp.messages if address in m["To"] and m["Subject"].startswith(subject_start)), None)

    return wait_for(arrived, timeout=30, message=f"an email to {address}: {subject_start}…")


def link_in(message, issuer: str) -> str:
    return re.search(re.escape(issuer) + r"/login/(?:verify|reset)/[\w-]+", message.get_content()).group(0)


def test_sign_up_from_an_apps_login_page_then_verify_from_the_email(
    live_server, issuer, page, smtp, actor, fake_app, watch_csp
):
    issued = application_create(
        actor=actor, name="Own Shop", app_type=AppType.REGULAR_WEB, callbacks=[f"{fake_app}/callback"]
    )
    app = issued.application
    assert app.redirection_policy == RedirectionPolicy.ALLOW_ALWAYS  # a first-party app's default
    client = oauth_client(app, issued.client_secret, f"{fake_app}/callback", "openid email")
    authorize_url, _ = client.create_authorization_url(f"{live_server.url}/authorize", code_verifier=VERIFIER)

    page.goto(authorize_url)
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email address").fill("newcomer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    user = get_user_model().objects.get(email="newcomer@example.com")
    assert not user.email_verified

    message = email_to(smtp, "newcomer@example.com", "Verify your email")
    page.goto(link_in(message, issuer))
    page.get_by_role("button", name="Verify my email").click()
    page.get_by_role("heading", name="Your email is verified").wait_for()
    user.refresh_from_db()
    assert user.email_verified
    assert AuditEvent.objects.filter(action="account_link.redeem", target_id=str(user.pk)).exists()

    page.get_by_role("link", name="Back to Own Shop").click()  # the authorize request goes on
    page.get_by_label("Username or email").fill("newcomer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Authorize Own Shop").wait_for()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    tokens = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, tokens["id_token"], app.client_id, issuer)
    assert claims["email"] == "newcomer@example.com" and claims["email_verified"] is True  # OIDC Core §5.1
    assert watch_csp == []


@pytest.fixture
def partner_app(actor, make_api, make_grant, fake_app, alice):
    """A strict third-party app with a user grant on Orders (offline access allowed) that alice may use."""
    orders = make_api(
        identifier=ORDERS,
        scopes=[("read:orders", "Read your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )
    issued = application_create(
        actor=actor,
        name="Partner Shop",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[f"{fake_app}/callback"],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    make_grant(orders, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
    return SimpleNamespace(app=issued.application, secret=issued.client_secret, callback=f"{fake_app}/callback")


def test_a_forgotten_password_reset_from_the_email_signs_out_everywhere_and_kills_the_refresh_token(
    live_server, issuer, page, chromium, smtp, partner_app, alice, watch_csp
):
    client = oauth_client(partner_app.app, partner_app.secret, partner_app.callback, "offline_access read:orders")
    authorize_url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS
    )
    page.goto(authorize_url)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    tokens = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER
    )
    assert tokens["refresh_token"]

    other = chromium.new_context()  # the reset happens in another browser
    try:
        reset_page = other.new_page()
        reset_page.goto(authorize_url)  # the partner app's login page: its sign-in starts the flow
        reset_page.get_by_role("link", name="Forgot password?").click()
        reset_page.get_by_label("Email address").fill("alice@example.com")
        reset_page.get_by_role("button", name="Send the link").click()
        reset_page.get_by_role("heading", name="Check your email").wait_for()
        message = email_to(smtp, "alice@example.com", "Reset your")
        link = link_in(message, issuer)
        reset_page.goto(link)
        reset_page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        reset_page.get_by_label("New password again").fill(NEW_PASSWORD)
        reset_page.get_by_role("button", name="Set the new password").click()
        reset_page.get_by_role("heading", name="Your password is changed").wait_for()
        # The strict third-party app is protected against open redirects: the flow ends here, not at its callback.
        assert reset_page.locator("#flow-continue").count() == 0
        assert "You can close this page" in reset_page.locator("#flow-end").inner_text()
        assert AccountLink.objects.get().application == partner_app.app
        reset_page.goto(link)
        assert "already used" in reset_page.locator("#link-refused").inner_text()
    finally:
        other.close()

    refreshed = requests.post(
        f"{live_server.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": partner_app.app.client_id,
            "client_secret": partner_app.secret,
        },
        timeout=10,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"  # RFC 6749 §5.2
    page.goto(authorize_url)  # the first browser's session is gone: back to the login page
    assert urlsplit(page.url).path == "/login"
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert watch_csp == []


@pytest.mark.parametrize("path", ["/login", "/login/signup", "/login/password-reset"])
def test_the_account_pages_fit_a_phone_without_breaking_the_policy(live_server, page, path, watch_csp):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}{path}")
    assert page.locator("form").first.is_visible()
    assert overflow(page) == 0
    assert watch_csp == []
