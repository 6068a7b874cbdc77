"""A new password ends what the old one opened: every session, and the user's tokens (refresh tokens
fail at /oauth/token, RFC 6749 §5.2 ``invalid_grant``; introspection answers inactive, RFC 7662 §2.2),
whether the user, the management API or an admin set it."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.models import AuditEvent, Connection
from oauthcore.services.users import user_password_set
from tests.oauthcore.test_user_deactivation import introspect, refresh, signed_in  # noqa: F401

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def second_session(user) -> Client:
    """Another browser where the user is signed in, e.g. the attacker's after a takeover."""
    browser = Client()
    browser.force_login(user)
    assert browser.get(reverse("account-apps")).status_code == 200
    return browser


def test_a_new_password_signs_out_every_session_and_revokes_the_tokens(client, oauth_tenant, signed_in):  # noqa: F811
    user, tokens = signed_in
    other = second_session(user)
    assert introspect(client, oauth_tenant, tokens["access_token"])["active"] is True

    user_password_set(actor=Actor.user(user), user=user, password=NEW_PASSWORD)

    page = other.get(reverse("account-apps"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    answer = refresh(client, oauth_tenant, tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert introspect(client, oauth_tenant, tokens["access_token"]) == {"active": False}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.get(action="user.password_change").data == {"user_id": user.user_id}
    assert AuditEvent.objects.filter(action="tokens.revoke", reason="password changed").count() == 1


def test_a_weak_password_is_refused_and_changes_nothing(client, oauth_tenant, signed_in):  # noqa: F811
    user, tokens = signed_in
    other = second_session(user)
    with pytest.raises(ValidationError) as refused:
        user_password_set(actor=Actor.user(user), user=user, password="dora")
    assert refused.value.messages  # the validators' own sentences
    assert other.get(reverse("account-apps")).status_code == 200
    assert refresh(client, oauth_tenant, tokens).status_code == 200
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


def test_a_federated_user_has_no_password_here(oauth_tenant):
    connection = Connection.objects.create(name="corp-oidc", strategy="oidc")
    user = get_user_model().objects.create(username="oidc|corp|1", connection=connection)
    with pytest.raises(ValidationError, match=r"Only users of a database connection have a password here\."):
        user_password_set(actor=Actor.system("test"), user=user, password=NEW_PASSWORD)


def test_the_admins_password_form_ends_the_old_passwords_sessions_and_tokens(
    client,
    admin_client,
    oauth_tenant,
    signed_in,  # noqa: F811
):
    user, tokens = signed_in
    other = second_session(user)
    page = reverse("admin:auth_user_password_change", args=[user.pk])
    answer = admin_client.post(page, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert answer.status_code == 302, answer.content.decode()[:2000]

    assert other.get(reverse("account-apps"))["Location"].startswith(reverse("login"))
    answer = refresh(client, oauth_tenant, tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert introspect(client, oauth_tenant, tokens["access_token"]) == {"active": False}
    assert AuditEvent.objects.filter(action="user.password_change", reason="password changed by an admin").count() == 1
