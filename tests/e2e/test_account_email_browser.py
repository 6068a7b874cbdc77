"""Changing the email address in a real Chromium, with the real Celery worker delivering over SMTP:
/account/ → the form (a wrong password refused) → the link emailed to the new address → the hub shows
the new address, verified; the old address hears of the change."""

import re

import pytest
from django.contrib.auth import get_user_model

from oauthcore.models import AuditEvent
from tests.e2e.oauth_helpers import PASSWORD
from tests.e2e.test_account_flows_browser import email_to

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

NEW = "alice.new@example.com"


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


def test_changing_the_email_from_the_account_hub_through_the_emailed_link(
    live_server, issuer, page, smtp, alice, watch_csp, artifacts
):
    get_user_model().objects.filter(pk=alice.pk).update(email_verified=True)
    page.goto(f"{live_server.url}/account/")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your account", exact=True).wait_for()

    page.get_by_role("link", name="Change your email").click()
    page.get_by_role("heading", name="Change your email").wait_for()
    page.get_by_label("New email address").fill(NEW)
    page.get_by_label("Current password").fill("not my password")
    page.get_by_role("button", name="Send the link").click()
    page.get_by_text("That is not your current password.").wait_for()
    assert page.get_by_label("New email address").input_value() == NEW  # what was typed stays
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    page.screenshot(path=str(artifacts / "account-email-sent.png"), full_page=True)

    page.goto(f"{live_server.url}/account/")  # nothing changes before the link is opened
    assert page.locator("#account-email").inner_text() == "alice@example.com (verified)"

    message = email_to(smtp, NEW, "Verify your email")
    link = re.search(re.escape(issuer) + r"/login/change-email/[\w-]+", message.get_content()).group(0)
    page.goto(link)
    page.get_by_role("button", name="Use this address").click()
    page.get_by_role("heading", name="Your email is changed").wait_for()

    page.goto(f"{live_server.url}/account/")
    page.get_by_role("heading", name="Your account", exact=True).wait_for()
    assert page.locator("#account-email").inner_text() == f"{NEW} (verified)"
    page.screenshot(path=str(artifacts / "account-email-changed.png"), full_page=True)
    alice.refresh_from_db()
    assert (alice.email, alice.email_verified) == (NEW, True)
    notice = email_to(smtp, "alice@example.com", "The email address of your")
    assert NEW in notice.get_content()
    assert AuditEvent.objects.filter(action="account_link.redeem", target_id=str(alice.pk)).exists()
    assert watch_csp == []
