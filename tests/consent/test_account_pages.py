"""``/account/``: an end user's own account over HTTP. The hub, changing the password (the other
sessions and the apps' refresh tokens end, RFC 6749 §5.2 ``invalid_grant``; this session stays) and
deleting the account (every token introspects inactive, RFC 7662 §2.2; every consent goes; all
audited)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.audit_chain import verify_chain
from oauthcore.constants import DATABASE_CONNECTION_NAME, ConnectionStrategy
from oauthcore.models import AuditEvent, Connection
from oauthcore.services.connections import connection_set_domain_level, connection_update
from tests.oauthcore.flows import authorize_path, code_from, exchange
from tests.oauthcore.test_user_deactivation import SCOPE, introspect, refresh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "old enough passphrase 7"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def dora(client, actor, oauth_tenant):
    """Dora signed in to ``client`` with her password, who consented to the partner app and holds its tokens."""
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    user = get_user_model().objects.create_user(
        username="dora", email="dora@example.com", password=PASSWORD, first_name="Dora", last_name="Explorer"
    )
    web = oauth_tenant.web
    user_grant_record(user=user, client=web.application, audience=oauth_tenant.api.identifier, scopes=SCOPE.split())
    assert client.login(username="dora", password=PASSWORD)
    code = code_from(client.get(authorize_path(web.application, oauth_tenant.api.identifier, scope=SCOPE)))
    tokens = client.post("/oauth/token", exchange(web, code)).json()
    assert tokens["refresh_token"] and tokens["access_token"]
    return user, tokens


def other_browser(password=PASSWORD) -> Client:
    browser = Client()
    assert browser.login(username="dora", password=password)
    assert browser.get(reverse("account")).status_code == 200
    return browser


def change(client, old=PASSWORD, new=NEW_PASSWORD, again=None):
    form = {"old_password": old, "new_password1": new, "new_password2": new if again is None else again}
    return client.post(reverse("account-password"), form)


def field_errors(response) -> dict:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


# -- the hub -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/", "/account/password", "/account/delete"])
def test_every_account_page_asks_to_log_in_first(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/login?next={path}"


def test_the_hub_shows_the_profile_the_apps_and_the_security_links(client, dora):
    response = client.get("/account/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Your account</h1>" in body and "Dora Explorer" in body and "dora@example.com" in body
    assert "You have authorized 1 app to act for you." in body
    for link in ("/account/apps", "/account/security", "/account/password", "/account/delete"):
        assert f'href="{link}"' in body, link
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]  # never framed


def test_a_federated_user_reads_that_their_identity_provider_keeps_their_password(client, actor):
    corp = Connection.objects.create(name="corp", strategy=ConnectionStrategy.OIDC, display_name="Corp SSO")
    fed = get_user_model().objects.create_user(username="fed", email="fed@corp.example", connection=corp, password=None)
    client.force_login(fed)
    hub = client.get("/account/").content.decode()
    assert "Your password is managed by your identity provider (Corp SSO)" in hub
    assert 'href="/account/password"' not in hub
    page = client.get("/account/password")
    assert page.status_code == 200 and "managed by your identity provider" in page.content.decode()
    posted = client.post("/account/password", {"old_password": "x", "new_password1": NEW_PASSWORD})
    assert posted.status_code == 200 and not AuditEvent.objects.filter(action="user.password_change").exists()


# -- changing the password ---------------------------------------------------------------------------


def test_the_forms_need_the_csrf_token(dora):
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="dora", password=PASSWORD)
    form = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert browser.post("/account/password", form).status_code == 403
    assert browser.post("/account/delete", {"password": PASSWORD}).status_code == 403
    user, _ = dora
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_wrong_current_password_is_a_field_error_and_changes_nothing(client, dora, oauth_tenant):
    user, tokens = dora
    response = change(client, old="not my password")
    assert response.status_code == 400
    assert field_errors(response) == {"old_password": ["That is not your current password."]}
    assert "not my password" not in response.content.decode() and PASSWORD not in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert refresh(client, oauth_tenant, tokens).status_code == 200


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("81726354908172", "This password is entirely numeric."),
        ("dora@example.com", "The password is too similar to the email address."),
    ],
)
def test_a_weak_new_password_gets_the_validators_sentences(client, dora, new, expected):
    response = change(client, new=new)
    assert response.status_code == 400
    assert expected in field_errors(response)["new_password1"]
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


def test_the_connections_password_policy_applies_and_the_page_lists_it(client, actor, dora):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_update(actor=actor, connection=connection, options={"passwordPolicy": "excellent"})
    page = client.get("/account/password").content.decode()
    assert "Your password must not repeat a character more than twice in a row." in page
    response = change(client, new="Abc1!aaa-Long-enough")
    assert field_errors(response) == {
        "new_password1": ["Your password must not repeat a character more than twice in a row."]
    }
    assert change(client, new="Brand-new passphrase 42").status_code == 302


def test_a_lighter_policy_than_the_projects_is_the_one_that_counts(client, actor, dora):
    """``low`` asks for 6 characters: a 7-character password passes, though the project's default
    validators (8) would refuse it."""
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_update(actor=actor, connection=connection, options={"passwordPolicy": "low"})
    assert change(client, new="Qx7!pzm").status_code == 302
    user, _ = dora
    user.refresh_from_db()
    assert user.check_password("Qx7!pzm")


def test_two_different_new_passwords_are_a_field_error(client, dora):
    response = change(client, again="something else entirely 9")
    assert field_errors(response) == {"new_password2": ["The two new passwords differ."]}


def test_a_new_password_ends_the_other_sessions_and_the_refresh_tokens_but_not_this_session(client, dora, oauth_tenant):
    user, tokens = dora
    other = other_browser()

    response = change(client)

    assert response.status_code == 302 and response["Location"] == "/account/"
    hub = client.get("/account/")
    assert hub.status_code == 200 and "Your password was changed." in hub.content.decode()
    signed_out = other.get("/account/")
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/login")
    answer = refresh(client, oauth_tenant, tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert introspect(client, oauth_tenant, tokens["access_token"]) == {"active": False}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="user.password_change", target_id=str(user.pk))
    assert (event.actor_type, event.actor_id) == ("user", str(user.pk))
    assert other_browser(NEW_PASSWORD)  # signs in again with the new one
    assert not Client().login(username="dora", password=PASSWORD)


# -- deleting the account ----------------------------------------------------------------------------


def test_a_wrong_password_keeps_the_account(client, dora):
    user, _ = dora
    response = client.post("/account/delete", {"password": "not my password"})
    assert response.status_code == 400
    assert field_errors(response) == {"password": ["That is not your current password."]}
    assert get_user_model().objects.filter(pk=user.pk).exists()


def test_deleting_the_account_revokes_every_token_and_consent_audited(client, dora, oauth_tenant):
    user, tokens = dora
    user_id, pk = user.user_id, user.pk
    other = other_browser()
    page = client.get("/account/delete")
    assert "the 1 app you authorized loses access" in page.content.decode()

    response = client.post("/account/delete", {"password": PASSWORD})

    assert response.status_code == 200 and "Your account was deleted" in response.content.decode()
    assert not get_user_model().objects.filter(pk=pk).exists()
    assert not UserGrant.objects.filter(user_id=pk).exists()
    assert introspect(client, oauth_tenant, tokens["access_token"]) == {"active": False}
    answer = refresh(client, oauth_tenant, tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert client.get("/account/")["Location"].startswith("/login")  # signed out here
    assert other.get("/account/")["Location"].startswith("/login")  # and everywhere
    deleted = AuditEvent.objects.get(action="user.delete", target_id=str(pk))
    assert (deleted.actor_type, deleted.actor_id, deleted.data["user_id"]) == ("user", str(pk), user_id)
    consent = AuditEvent.objects.get(action="consent.revoke")
    assert consent.data["client_id"] == oauth_tenant.web.application.client_id
    assert AuditEvent.objects.filter(action="tokens.revoke", reason="consent revoked").exists()
    assert verify_chain().intact


def test_a_federated_user_confirms_with_their_email_address(client):
    corp = Connection.objects.create(name="corp", strategy=ConnectionStrategy.OIDC)
    fed = get_user_model().objects.create_user(username="fed", email="fed@corp.example", connection=corp, password=None)
    client.force_login(fed)
    assert "password" not in client.get("/account/delete").context["form"].fields
    wrong = client.post("/account/delete", {"email": "someone@else.example"})
    assert field_errors(wrong) == {"email": ["Type the email address of this account."]}
    assert client.post("/account/delete", {"email": "FED@corp.example"}).status_code == 200
    assert not get_user_model().objects.filter(pk=fed.pk).exists()


def test_a_staff_account_is_not_deleted_from_here(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/account/delete", {"password": "password"})
    assert response.status_code == 403 and "removed by another administrator" in response.content.decode()
    assert get_user_model().objects.filter(pk=admin_user.pk).exists()


# -- guessing the password from an open session ------------------------------------------------------


def test_wrong_current_passwords_lock_the_password_checks_for_a_while(client, dora):
    """The sign-in's failure limit (5 in 15 minutes), counted per account: after it, even the right
    password is not checked, and the page says when to try again (429 with Retry-After, RFC 6585 §4)."""
    user, _ = dora
    for _ in range(4):
        assert change(client, old="guess").status_code == 400
    fifth = client.post("/account/delete", {"password": "guess"})  # the same count: the fifth locks
    assert fifth.status_code == 429
    locked = change(client)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many requests. Try again in 15 minutes." in locked.content.decode()
    assert client.post("/account/delete", {"password": PASSWORD}).status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and get_user_model().objects.filter(pk=user.pk).exists()


def test_the_right_password_forgets_earlier_wrong_ones(client, dora):
    for _ in range(4):
        change(client, old="guess")
    assert change(client, new="short").status_code == 400  # right current password, weak new one
    for _ in range(4):
        assert change(client, old="guess").status_code == 400
    assert change(client).status_code == 302


def test_the_hub_reads_a_fixed_number_of_statements(client, dora, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # the session, the user with their connection, the apps counted
        assert client.get("/account/").status_code == 200
