"""The account pages as an end user sees them, in a real headless Chromium: /account/ after signing
in, a new password refused then accepted, and signing in again with it (the old one no longer works)."""

import pytest

from tests.e2e.oauth_helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a fresh passphrase for alice 8"


def log_in(page, password: str) -> None:
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_the_account_hub_then_a_new_password_then_signing_in_again(live_server, page, alice, artifacts):
    page.goto(f"{live_server.url}/account/")
    assert "/login?next=/account/" in page.url
    log_in(page, PASSWORD)
    page.get_by_role("heading", name="Your account", exact=True).wait_for()
    assert page.get_by_text("alice@example.com").is_visible()
    assert page.get_by_role("link", name="Review your authorized apps").is_visible()
    assert page.get_by_role("link", name="Multi-factor authentication").get_attribute("href") == "/account/security"
    page.screenshot(path=str(artifacts / "account.png"), full_page=True)

    page.get_by_role("link", name="Change your password").click()
    page.get_by_role("heading", name="Change your password").wait_for()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("alice123")
    page.get_by_label("New password again").fill("alice123")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("This password is too common.").wait_for()
    assert page.get_by_label("Current password").input_value() == ""  # never typed back
    page.screenshot(path=str(artifacts / "account-password-refused.png"), full_page=True)

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password was changed.").wait_for()
    assert page.url == f"{live_server.url}/account/"  # still signed in here
    page.screenshot(path=str(artifacts / "account-password-changed.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/account/")
    log_in(page, PASSWORD)
    page.get_by_text("Please enter a correct username and password.").wait_for()  # the old one is refused
    assert "/login" in page.url
    log_in(page, NEW_PASSWORD)
    page.get_by_role("heading", name="Your account", exact=True).wait_for()
