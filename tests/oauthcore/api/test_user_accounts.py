"""The management API's user tickets and user updates, in Auth0's shapes: what the ticket link does,
the scopes, the refusals, and what blocking or a new password takes away."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from oauthcore.constants import DATABASE_CONNECTION_NAME, RedirectionPolicy
from oauthcore.models import AccountLink, AuditEvent, Connection, OutboundEmail
from oauthcore.services.applications import application_update
from oauthcore.services.email_templates import email_template_save
from oauthcore.services.users import user_update
from tests.oauthcore.api.conftest import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

ISSUER = "https://login.example.com"
PASSWORD = "fiona's first passphrase 1"


@pytest.fixture(autouse=True)
def issuer(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": ISSUER}


@pytest.fixture
def fiona(db):
    return get_user_model().objects.create_user(username="fiona", email="fiona@example.com", password=PASSWORD)


@pytest.fixture
def tickets(api):
    return api("create:user_tickets")


def path_of(ticket: str) -> str:
    assert ticket.startswith(ISSUER + "/login/")
    return ticket[len(ISSUER) :]


def test_an_email_verification_ticket_verifies_and_ends_at_the_result_url(tickets, fiona):
    response = tickets.post(
        "/api/v2/tickets/email-verification",
        {"user_id": fiona.user_id, "result_url": "https://example.com/welcome", "includeEmailInRedirect": True},
        format="json",
    )

    assert response.status_code == 201 and set(response.json()) == {"ticket"}
    ticket = response.json()["ticket"]
    assert ticket.startswith(ISSUER + "/login/verify/")
    assert not OutboundEmail.objects.exists()  # handed to the caller, not emailed
    done = Client().post(path_of(ticket)).content.decode()
    fiona.refresh_from_db()
    assert fiona.email_verified
    assert 'href="https://example.com/welcome?email=fiona%40example.com"' in done
    issued = AuditEvent.objects.get(action="account_link.issue")
    assert issued.actor_type == "client" and issued.data["purpose"] == "verify_email"


def test_a_password_change_ticket_by_email_and_connection(tickets, fiona):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    response = tickets.post(
        "/api/v2/tickets/password-change",
        {"email": "FIONA@example.com", "connection_id": connection.pk, "ttl_sec": 600, "mark_email_as_verified": True},
        format="json",
    )

    assert response.status_code == 201
    link = AccountLink.objects.get()
    assert 595 <= (link.expires_at - link.created_at).total_seconds() <= 600
    new = "fiona's second passphrase 2"
    done = Client().post(path_of(response.json()["ticket"]), {"password": new, "password_again": new})
    assert done.status_code == 200
    fiona.refresh_from_db()
    assert fiona.check_password(new) and fiona.email_verified


def test_a_ticket_for_an_app_follows_its_redirection_policy(tickets, actor, make_app, fiona):
    protected = make_app(name="Third", is_first_party=False, callbacks=["https://third.example.com/cb"])
    own = make_app(name="Own", callbacks=["https://own.example.com/cb"])
    application_update(actor=actor, application=own, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)

    pages = []
    for app in (protected, own):
        ticket = tickets.post(
            "/api/v2/tickets/email-verification", {"user_id": fiona.user_id, "client_id": app.client_id}, format="json"
        ).json()["ticket"]
        pages.append(Client().post(path_of(ticket)).content.decode())
        user_update(actor=actor, user=fiona, email_verified=False)

    assert "third.example.com" not in pages[0] and "You can close this page" in pages[0]
    assert 'href="https://own.example.com"' in pages[1] and "Back to Own" in pages[1]


def test_ticket_refusals_in_auth0s_shapes(api, tickets, fiona, make_app):
    path = "/api/v2/tickets/email-verification"
    assert_error(api("read:users").post(path, {"user_id": fiona.user_id}, format="json"), 403, "insufficient_scope")
    assert_error(tickets.post(path, {"user_id": "auth0|nobody"}, format="json"), 404, "inexistent_user")
    assert_error(tickets.post(path, {"user_id": fiona.user_id, "nope": 1}, format="json"), 400, "invalid_body")
    both = {"user_id": fiona.user_id, "client_id": make_app().client_id, "result_url": "https://example.com/"}
    assert_error(tickets.post(path, both, format="json"), 400, "invalid_body", "cannot be used together")
    assert_error(
        tickets.post(path, {"user_id": fiona.user_id, "client_id": "nope"}, format="json"), 404, "inexistent_client"
    )
    change = "/api/v2/tickets/password-change"
    assert_error(tickets.post(change, {"email": "fiona@example.com"}, format="json"), 400, "invalid_body")
    assert_error(
        tickets.post(change, {"user_id": fiona.user_id, "email": "fiona@example.com"}, format="json"),
        400,
        "invalid_body",
    )
    assert not AccountLink.objects.exists()


# -- PATCH /api/v2/users/{id} -----------------------------------------------------------------------------


def test_blocking_a_user_ends_their_session_and_queues_the_blocked_email(api, actor, fiona):
    email_template_save(
        actor=actor, template="blocked_account", subject="Blocked: {{ user.email }}", body="Sorry", enabled=True
    )
    browser = Client()
    browser.force_login(fiona)

    response = api("update:users").patch(f"/api/v2/users/{fiona.user_id}", {"blocked": True}, format="json")

    assert response.status_code == 200 and response.json()["blocked"] is True
    fiona.refresh_from_db()
    assert not fiona.is_active
    assert AuditEvent.objects.filter(action="user.deactivate", target_id=str(fiona.pk)).exists()
    assert OutboundEmail.objects.get().subject == "Blocked: fiona@example.com"
    assert browser.get("/account/apps").status_code == 302
    unblocked = api("update:users").patch(f"/api/v2/users/{fiona.user_id}", {"blocked": False}, format="json")
    assert unblocked.json()["blocked"] is False


def test_email_and_verification_and_password_updates(api, actor, fiona):
    admin = api("update:users")
    url = f"/api/v2/users/{fiona.user_id}"

    changed = admin.patch(url, {"email": "fiona@new.example", "verify_email": True}, format="json").json()
    assert changed["email"] == "fiona@new.example" and changed["email_verified"] is False
    assert OutboundEmail.objects.get().kind == "account.verify_email"
    assert admin.patch(url, {"email_verified": True}, format="json").json()["email_verified"] is True
    new = "an admin-set passphrase 3"
    assert admin.patch(url, {"password": new, "connection": DATABASE_CONNECTION_NAME}, format="json").status_code == 200
    fiona.refresh_from_db()
    assert fiona.check_password(new)
    assert AuditEvent.objects.filter(action="user.password_change", target_id=str(fiona.pk)).exists()


def test_user_update_refusals_in_auth0s_shapes(api, actor, fiona):
    admin = api("update:users")
    url = f"/api/v2/users/{fiona.user_id}"
    mixed = admin.patch(url, {"password": "another passphrase 4", "email": "f@example.com"}, format="json")
    assert_error(mixed, 400, "operation_not_supported", "Cannot update password and email simultaneously")
    assert_error(admin.patch(url, {"password": "x", "connection": "other"}, format="json"), 400, "invalid_body")
    assert_error(admin.patch(url, {"password": "123"}, format="json"), 400, "invalid_body")
    assert_error(admin.patch(url, {"nickname": "f"}, format="json"), 400, "invalid_body")
    assert_error(api("read:users").patch(url, {"blocked": True}, format="json"), 403, "insufficient_scope")
    holder = get_user_model().objects.create_user(username="other", email="shared@example.com", password=PASSWORD)
    user_update(actor=actor, user=holder, email_verified=True)
    admin.patch(url, {"email": "shared@example.com"}, format="json")
    assert_error(admin.patch(url, {"email_verified": True}, format="json"), 409, "conflict")
    fiona.refresh_from_db()
    assert fiona.check_password(PASSWORD) and fiona.is_active and not fiona.email_verified


def test_a_ticket_link_in_the_api_is_never_built_from_the_host_header(tickets, fiona, settings):
    settings.ALLOWED_HOSTS = ["*"]
    response = tickets.post(
        "/api/v2/tickets/email-verification", {"user_id": fiona.user_id}, format="json", HTTP_HOST="evil.example"
    )
    assert re.match(re.escape(ISSUER) + r"/login/verify/[\w-]+$", response.json()["ticket"])
