"""User tickets and user updates driven by Auth0's own Python SDK over HTTP against the live server."""

import pytest
import requests
from auth0.management.core.api_error import ApiError
from django.contrib.auth import get_user_model

from oauthcore.models import AuditEvent
from tests.e2e.oauth_helpers import CSRF_RE, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
NEW_PASSWORD = "a passphrase from a ticket 5"


def on_live(live_server, ticket: str) -> str:
    """Tickets point at the issuer; the test opens the same path on the live server."""
    assert ticket.startswith(ISSUER + "/login/")
    return live_server.url + ticket[len(ISSUER) :]


def test_tickets_and_updates_through_the_sdk(live_server, sdk, alice):
    verification = sdk.tickets.verify_email(user_id=alice.user_id, result_url="https://example.com/done")
    link = on_live(live_server, verification.ticket)
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    done = browser.post(
        link,
        data={"csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1)},
        headers={"Referer": link},
        timeout=10,
    )
    assert done.status_code == 200 and 'href="https://example.com/done"' in done.text
    alice.refresh_from_db()
    assert alice.email_verified

    change = on_live(live_server, sdk.tickets.change_password(user_id=alice.user_id, ttl_sec=300).ticket)
    page = browser.get(change, timeout=10)
    done = browser.post(
        change,
        data={
            "csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
        headers={"Referer": change},
        timeout=10,
    )
    assert done.status_code == 200 and "Your password is changed" in done.text
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)

    blocked = sdk.users.update(alice.user_id, blocked=True)
    assert blocked.blocked is True
    assert not get_user_model().objects.get(pk=alice.pk).is_active
    with pytest.raises(ApiError) as refused:
        sdk.users.update(alice.user_id, password="another one 6", email="alice@new.example")
    assert refused.value.status_code == 400 and refused.value.body["errorCode"] == "operation_not_supported"
    assert AuditEvent.objects.filter(action="account_link.issue", actor_type="client").count() == 2
