"""Multi-factor authentication as a person meets it, in a real headless Chromium: enrolling an
authenticator app at /account/security and logging in with it, a recovery code that works once,
and a passkey (WebAuthn) made and used with Chromium's virtual authenticator.

The browser reaches the live server as ``localhost`` (and the issuer says so): WebAuthn's relying
party ID must be a domain, never an IP address, and ``localhost`` is a secure context over http.
"""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from oauthcore.constants import AppType, GrantType, SubjectType
from oauthcore.models import Authenticator, AuthenticatorKind
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import PASSWORD, oauth_client, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

VERIFIER = "m" * 64
API = "https://orders.example.com/"


@pytest.fixture
def issuer(live_server, settings) -> str:
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": base}
    return base


@pytest.fixture
def first_party_app(actor, alice, make_api, make_grant, fake_app):
    api = make_api(
        identifier=API,
        scopes=[("read:orders", "Read your orders")],
        user_policy="require_client_grant",
        skip_consent_for_verifiable_first_party_clients=True,
    )
    issued = application_create(
        actor=actor,
        name="Storefront",
        app_type=AppType.REGULAR_WEB,
        callbacks=[f"{fake_app}/callback"],
        grant_types=[GrantType.AUTHORIZATION_CODE],
    )
    make_grant(api, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
    return issued


def csp_watch(page) -> list[str]:
    errors = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


def log_in(page, issuer, next_path="/account/security"):
    page.goto(f"{issuer}/login?next={next_path}")
    fill_password(page)


def fill_password(page):
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page, issuer):
    page.goto(f"{issuer}/logout")
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()


def start_authorize(page, issuer, issued):
    app = issued.application
    client = oauth_client(app, issued.client_secret, app.callbacks[0], "openid read:orders")
    url, _state = client.create_authorization_url(f"{issuer}/authorize", code_verifier=VERIFIER, audience=API)
    page.goto(url)
    return client


def tokens_at_callback(page, issuer, client) -> dict:
    # The callback is on loopback, so even a first-party app asks for consent (rule 7).
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    assert "code" in parse_qs(urlsplit(page.url).query)
    return client.fetch_token(f"{issuer}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER)


def test_an_authenticator_app_then_a_login_with_it_and_a_recovery_code_once(
    issuer, page, alice, first_party_app, artifacts
):
    csp_errors = csp_watch(page)
    log_in(page, issuer)
    page.get_by_role("heading", name="Sign-in security").wait_for()
    page.get_by_role("link", name="Set up an authenticator app").click()
    secret = page.locator("[data-totp-secret]").inner_text()
    assert page.locator("[data-totp-uri]").inner_text().startswith("otpauth://totp/")
    page.screenshot(path=str(artifacts / "mfa-enroll-totp.png"), full_page=True)
    page.get_by_label("The 6-digit code of your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Continue").click()
    assert page.locator("[data-factor=totp]").count() == 1
    log_out(page, issuer)

    # The app's login: the password, then the code of the next time step (each code works once).
    client = start_authorize(page, issuer, first_party_app)
    fill_password(page)
    page.get_by_role("heading", name="Confirm it is you").wait_for()
    assert urlsplit(page.url).path == "/login/mfa"
    page.screenshot(path=str(artifacts / "mfa-verify.png"), full_page=True)
    page.get_by_label("The 6-digit code of your authenticator app").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    tokens = tokens_at_callback(page, issuer, client)
    claims = verify_jwt(issuer, tokens["access_token"], API, issuer)
    assert claims["amr"] == ["pwd", "otp", "mfa"]  # RFC 8176 values, and Auth0's mfa
    log_out(page, issuer)

    # A recovery code logs in once; the second time it is refused.
    for attempt in ("first", "second"):
        log_in(page, issuer)
        page.get_by_text("Use a recovery code").click()
        page.get_by_label("Recovery code").fill(codes[0])
        page.get_by_role("button", name="Use the recovery code").click()
        if attempt == "first":
            page.get_by_role("heading", name="Sign-in security").wait_for()
            assert "9 unused recovery codes left" in page.locator("[data-recovery-left]").inner_text()
            log_out(page, issuer)
        else:
            page.get_by_role("alert").wait_for()
            assert "used already" in page.get_by_role("alert").inner_text()
            assert urlsplit(page.url).path == "/login/mfa"
    assert csp_errors == []


def test_a_passkey_made_by_a_virtual_authenticator_logs_in(issuer, page, alice, first_party_app, artifacts):
    csp_errors = csp_watch(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    log_in(page, issuer)
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("A name for it").fill("Laptop")
    page.get_by_role("button", name="Create the passkey").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()  # the first factor: codes come with it
    passkey = Authenticator.objects.get(user=alice, kind=AuthenticatorKind.WEBAUTHN)
    assert passkey.name == "Laptop" and passkey.confirmed
    page.get_by_role("link", name="Continue").click()
    assert "Laptop" in page.locator("[data-factor=webauthn]").inner_text()
    log_out(page, issuer)

    client = start_authorize(page, issuer, first_party_app)
    fill_password(page)
    page.get_by_role("heading", name="Confirm it is you").wait_for()
    page.get_by_role("button", name="Use a passkey").click()
    tokens = tokens_at_callback(page, issuer, client)
    assert verify_jwt(issuer, tokens["access_token"], API, issuer)["amr"] == ["pwd", "hwk", "mfa"]
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None and passkey.sign_count > 0
    log_out(page, issuer)

    # A signature counter that does not grow means a cloned authenticator: its answer is refused.
    Authenticator.objects.filter(pk=passkey.pk).update(sign_count=passkey.sign_count + 1000)
    log_in(page, issuer)
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_role("alert").wait_for()
    assert "Your passkey was not accepted" in page.get_by_role("alert").inner_text()
    assert urlsplit(page.url).path == "/login/mfa"
    assert csp_errors == []
