"""The ``blocked_account`` email goes out however a user is blocked: the admin's "active" checkbox
and the management API's ``blocked`` both deactivate through ``user_deactivate``, which queues it."""

import pytest
from django.contrib.auth import get_user_model

from oauthcore.models import AuditEvent, OutboundEmail, User
from oauthcore.services.email_templates import email_template_save
from oauthcore.services.users import user_update
from tests.oauthcore.test_admin import post_data, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture
def gil(db):
    return get_user_model().objects.create_user(username="gil", email="gil@example.com", password="a passphrase 55")


@pytest.fixture
def enabled(actor):
    email_template_save(
        actor=actor, template="blocked_account", subject="Blocked: {{ user.email }}", body="Sorry", enabled=True
    )


def blocked_emails() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind="account.blocked_account"))


def test_unticking_active_in_the_admin_sends_the_blocked_email(admin_client, gil, enabled):
    page = admin_client.get(url(User, "change", gil.pk))
    data = post_data(page)
    data.pop("is_active")  # the box unticked

    assert admin_client.post(url(User, "change", gil.pk), data).status_code == 302

    gil.refresh_from_db()
    assert not gil.is_active
    (email,) = blocked_emails()
    assert email.to == ["gil@example.com"] and email.subject == "Blocked: gil@example.com"
    assert AuditEvent.objects.filter(action="user.deactivate", target_id=str(gil.pk)).exists()
    # Saving the inactive user again (another field) sends nothing more.
    again = post_data(admin_client.get(url(User, "change", gil.pk)), first_name="Gil")
    again.pop("is_active", None)
    assert admin_client.post(url(User, "change", gil.pk), again).status_code == 302
    assert len(blocked_emails()) == 1


def test_the_management_apis_blocked_sends_it_once(api, gil, enabled):
    client = api("update:users")
    for _ in range(2):
        response = client.patch(f"/api/v2/users/{gil.user_id}", {"blocked": True}, format="json")
        assert response.status_code == 200 and response.json()["blocked"] is True
    assert len(blocked_emails()) == 1


def test_any_service_caller_gets_the_same(actor, gil, enabled):
    user_update(actor=actor, user=gil, is_active=False)
    assert [email.to for email in blocked_emails()] == [["gil@example.com"]]


def test_nothing_is_sent_while_the_template_is_off(admin_client, actor, gil):
    user_update(actor=actor, user=gil, is_active=False)  # the template is off by default
    assert blocked_emails() == []
