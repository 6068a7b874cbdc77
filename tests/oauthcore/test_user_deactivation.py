"""Deactivating a user ends every way they had in: tokens, consents and sessions, audited."""

import base64

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.audit_chain import verify_chain
from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import AuditEvent, Connection
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.users import user_deactivate, user_update
from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db

SCOPE = "offline_access read:things"


@pytest.fixture
def signed_in(client, actor, oauth_tenant):
    """A user signed in to ``client`` who consented to the partner app and holds its tokens."""
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    user = get_user_model().objects.create_user(username="dora", email="dora@example.com", password=None)
    web = oauth_tenant.web
    user_grant_record(user=user, client=web.application, audience=oauth_tenant.api.identifier, scopes=SCOPE.split())
    client.force_login(user)
    code = code_from(client.get(authorize_path(web.application, oauth_tenant.api.identifier, scope=SCOPE)))
    tokens = client.post("/oauth/token", exchange(web, code)).json()
    assert tokens["refresh_token"] and tokens["access_token"]
    return user, tokens


def refresh(client, oauth_tenant, tokens):
    web = oauth_tenant.web
    return client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": web.application.client_id,
            "client_secret": web.client_secret,
        },
    )


def introspect(client, oauth_tenant, token) -> dict:
    api_client = oauth_tenant.api_client
    credentials = f"{api_client.application.client_id}:{api_client.client_secret}".encode()
    caller = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}
    return client.post("/oauth/introspect", {"token": token}, **caller).json()


def assert_locked_out(client, oauth_tenant, user, tokens):
    answer = refresh(client, oauth_tenant, tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert introspect(client, oauth_tenant, tokens["access_token"]) == {"active": False}
    assert not UserGrant.objects.filter(user=user).exists()
    page = client.get("/account/apps")
    assert page.status_code == 302 and page["Location"].startswith("/login")


def test_a_deactivated_user_keeps_no_token_consent_or_session(client, actor, oauth_tenant, signed_in):
    user, tokens = signed_in
    assert introspect(client, oauth_tenant, tokens["access_token"])["active"] is True

    user_deactivate(actor=actor, user=user)

    user.refresh_from_db()
    assert not user.is_active
    assert_locked_out(client, oauth_tenant, user, tokens)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"user.deactivate", "tokens.revoke", "consent.revoke"} <= actions
    revoked = AuditEvent.objects.get(action="tokens.revoke", target_id=str(user.pk))
    assert revoked.data["refresh_tokens"] == 1 and revoked.data["access_tokens"] == 1
    assert verify_chain().intact


def test_unticking_active_in_the_admin_deactivates_the_user(client, admin_client, oauth_tenant, signed_in):
    user, tokens = signed_in
    form = {"username": user.username, "email": user.email, "first_name": "", "last_name": ""}  # is_active unticked
    response = admin_client.post(f"/admin/oauthcore/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]

    assert_locked_out(client, oauth_tenant, user, tokens)
    update = AuditEvent.objects.get(action="user.update", target_id=str(user.pk))
    assert update.data["fields"] == ["is_active"]
    assert AuditEvent.objects.filter(action="user.deactivate", target_id=str(user.pk)).exists()


def test_other_changes_leave_the_users_access_alone(client, actor, oauth_tenant, signed_in):
    user, tokens = signed_in
    user_update(actor=actor, user=user, first_name="Dora", is_active=True)
    assert refresh(client, oauth_tenant, tokens).status_code == 200
    assert UserGrant.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(action="user.deactivate").exists()
    assert AuditEvent.objects.get(action="user.update").data == {"fields": ["first_name", "is_active"]}


def test_user_update_refuses_fields_it_does_not_know(actor, django_user_model):
    user = django_user_model.objects.create_user(username="eve", password=None)
    with pytest.raises(TypeError, match="uid"):
        user_update(actor=actor, user=user, uid="0123")
