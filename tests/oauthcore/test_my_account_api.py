"""The My Account API over HTTP, with tokens from the real /authorize and /oauth/token.

A user signs in to the tenant's first-party account app with the My Account API's audience; every
call acts on the token's user: their profile (the name is theirs to change, unless their identity
provider owns it), the apps they authorized (revoking one ends its tokens at once) and their
authentication methods (an authenticator app is enrolled and removed here, a passkey on the
security page). Enforced: a user's token for this audience, with the endpoint's scope; a token
for another API, a client's token or none at all is a 401.
"""

import json
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.conf import portcullis_settings
from oauthcore.consents import consent_store
from oauthcore.constants import (
    DATABASE_CONNECTION_NAME,
    AppType,
    ConnectionStrategy,
    GrantType,
    SubjectType,
    UserPolicy,
    my_account_api_scopes,
)
from oauthcore.models import AuditEvent, Connection, ResourceServer
from oauthcore.models.mfa import Authenticator
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level, connection_set_enabled_clients
from oauthcore.services.mfa import totp_enroll_confirm, totp_enroll_start
from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

ME = portcullis_settings.my_account_api_identifier
ALL_SCOPES = " ".join(value for value, _ in my_account_api_scopes())


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_of(response, status: int) -> dict:
    """The management API's envelope, with its status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "errorCode"} and body["statusCode"] == status
    return body


@pytest.fixture
def ada(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(
        username="ada", email="ada@example.com", password="correct horse battery", first_name="Ada"
    )


@pytest.fixture
def account_app(actor, make_grant):
    """The tenant's own first-party account app, with a user grant on the My Account API."""
    issued = application_create(
        actor=actor,
        name="Account",
        app_type=AppType.REGULAR_WEB,
        callbacks=["https://partner.example.com/callback"],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    my_account = ResourceServer.objects.get(identifier=ME)
    make_grant(my_account, client=issued.application, allow_all_scopes=True, subject_type=SubjectType.USER)
    return issued


def tokens_for(client, issued, user, audience=ME, scope=ALL_SCOPES) -> dict:
    """Through the browser: log in, /authorize (the consent screen when one is asked), the code
    exchange; then log out, as only the token speaks to the API."""
    client.force_login(user)
    path = authorize_path(issued.application, audience, scope=scope)
    response = client.get(path)
    if response.status_code == 200:  # the consent screen
        response = client.post(path, {"decision": "accept", "scope": scope.split()})
    tokens = client.post("/oauth/token", exchange(issued, code_from(response))).json()
    client.logout()
    return tokens


def access_token(client, issued, user, scope=ALL_SCOPES) -> str:
    return tokens_for(client, issued, user, scope=scope)["access_token"]


def patch(client, token, body):
    return client.patch("/me/v1/profile", json.dumps(body), content_type="application/json", **bearer(token))


# -- profile ----------------------------------------------------------------------------------------


def test_the_user_reads_their_profile_in_a_few_statements(client, account_app, ada, django_assert_max_num_queries):
    token = access_token(client, account_app, ada)
    with django_assert_max_num_queries(4):
        response = client.get("/me/v1/profile", **bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "user_id": ada.user_id,
        "email": "ada@example.com",
        "email_verified": False,
        "username": "ada",
        "given_name": "Ada",
        "family_name": "",
        "name": "Ada",
        "connection": DATABASE_CONNECTION_NAME,
    }


def test_the_user_changes_their_name_and_the_audit_names_them(client, account_app, ada):
    token = access_token(client, account_app, ada)
    response = patch(client, token, {"given_name": " Augusta Ada ", "family_name": "King"})
    assert response.status_code == 200, response.content
    assert (response.json()["given_name"], response.json()["name"]) == ("Augusta Ada", "Augusta Ada King")
    ada.refresh_from_db()
    assert (ada.first_name, ada.last_name) == ("Augusta Ada", "King")
    event = AuditEvent.objects.filter(action="user.update", target_id=str(ada.pk)).latest("id")
    assert (event.actor_type, event.actor_id) == ("user", str(ada.pk))
    assert event.data["fields"] == ["first_name", "last_name"]


def test_a_bad_update_is_a_clear_400_and_changes_nothing(client, account_app, ada):
    token = access_token(client, account_app, ada)
    extra = error_of(patch(client, token, {"email": "evil@example.com", "given_name": "Eve"}), 400)
    assert extra["message"] == "Payload validation error: 'Additional properties not allowed (email)'."
    wrong_type = error_of(patch(client, token, {"given_name": 42}), 400)
    assert "given_name" in wrong_type["message"]
    too_long = error_of(patch(client, token, {"family_name": "x" * 151}), 400)
    assert "family_name" in too_long["message"]
    ada.refresh_from_db()
    assert (ada.email, ada.first_name, ada.last_name) == ("ada@example.com", "Ada", "")


def test_a_federated_users_name_stays_with_their_identity_provider(client, actor, account_app):
    corp = Connection.objects.create(name="corp", strategy=ConnectionStrategy.OIDC)
    connection_set_enabled_clients(actor=actor, connection=corp, changes={account_app.application.pk: True})
    fed = get_user_model().objects.create_user(username="fed", email="fed@corp.example", connection=corp, password=None)
    token = access_token(client, account_app, fed)
    refused = error_of(patch(client, token, {"given_name": "Someone"}), 400)
    assert refused["message"].startswith("The name of a user of an enterprise connection comes from their identity")
    methods = client.get("/me/v1/authentication-methods", **bearer(token)).json()
    assert methods == {"authentication_methods": []}  # they sign in at their identity provider


# -- authorized apps ------------------------------------------------------------------------------


@pytest.fixture
def partner_with_orders(actor, make_api, make_grant):
    """A third-party app Ada authorized for an Orders API, with a refresh token."""
    orders = make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:things", "Read your things")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )
    issued = application_create(
        actor=actor,
        name="Partner app",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=["https://partner.example.com/callback"],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    make_grant(orders, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
    return issued, orders


def refresh(client, issued, refresh_token):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
    }
    return client.post("/oauth/token", form)


def test_the_user_lists_and_revokes_an_app_they_authorized_and_its_tokens_end(
    client, account_app, ada, partner_with_orders
):
    partner, orders = partner_with_orders
    partners = tokens_for(client, partner, ada, audience=orders.identifier, scope="read:things offline_access")
    token = access_token(client, account_app, ada)

    listed = client.get("/me/v1/grants", **bearer(token))
    assert listed.status_code == 200
    by_client = {grant["clientID"]: grant for grant in listed.json()}
    assert set(by_client) == {partner.application.client_id, account_app.application.client_id}
    grant = by_client[partner.application.client_id]
    assert (grant["client_name"], grant["audience"], grant["scope"]) == (
        "Partner app",
        orders.identifier,
        ["offline_access", "read:things"],
    )
    assert grant["organization_id"] is None and grant["created_at"].endswith("Z")

    assert client.delete(f"/me/v1/grants/{grant['id']}", **bearer(token)).status_code == 204

    refused = refresh(client, partner, partners["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert [g["clientID"] for g in client.get("/me/v1/grants", **bearer(token)).json()] == [
        account_app.application.client_id
    ]
    event = AuditEvent.objects.get(action="consent.revoke", target_id=grant["id"])
    assert (event.actor_type, event.actor_id) == ("user", str(ada.pk))
    gone = error_of(client.delete(f"/me/v1/grants/{grant['id']}", **bearer(token)), 404)
    assert (gone["errorCode"], gone["message"]) == ("inexistent_grant", "The grant does not exist.")


def test_another_users_grant_is_not_found_and_stays(client, account_app, ada, partner_with_orders):
    partner, orders = partner_with_orders
    bob = get_user_model().objects.create_user(username="bob", email="bob@example.com", password=None)
    tokens_for(client, partner, bob, audience=orders.identifier, scope="read:things")
    (bobs,) = consent_store().consents_of(user=bob)
    token = access_token(client, account_app, ada)
    error_of(client.delete(f"/me/v1/grants/{bobs.id}", **bearer(token)), 404)
    assert [grant.id for grant in consent_store().consents_of(user=bob)] == [bobs.id]


# -- authentication methods -------------------------------------------------------------------------


def test_the_password_is_listed_and_cannot_be_removed(client, account_app, ada):
    token = access_token(client, account_app, ada)
    listed = client.get("/me/v1/authentication-methods", **bearer(token))
    assert listed.status_code == 200
    (password,) = listed.json()["authentication_methods"]
    assert (password["id"], password["type"], password["usage"]) == (f"password|{ada.uid}", "password", ["primary"])
    assert client.get(f"/me/v1/authentication-methods/{password['id']}", **bearer(token)).json() == password

    passkey = error_of(
        client.post(
            "/me/v1/authentication-methods", {"type": "passkey"}, content_type="application/json", **bearer(token)
        ),
        400,
    )
    assert passkey["message"] == (
        f"Enroll a passkey on the account's security page: {portcullis_settings.issuer}/account/security"
    )
    kept = error_of(client.delete(f"/me/v1/authentication-methods/{password['id']}", **bearer(token)), 400)
    assert kept["message"].endswith(f"{portcullis_settings.issuer}/account/password")
    unknown = error_of(client.delete("/me/v1/authentication-methods/totp|nope", **bearer(token)), 404)
    assert unknown["errorCode"] == "inexistent_authentication_method"
    ada.refresh_from_db()
    assert ada.check_password("correct horse battery")


def start_totp(client, token):
    response = client.post(
        "/me/v1/authentication-methods", {"type": "totp"}, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 202, response.content
    return response


def verify(client, token, method_id, body):
    return client.post(
        f"/me/v1/authentication-methods/{method_id}/verify",
        json.dumps(body),
        content_type="application/json",
        **bearer(token),
    )


def test_the_user_enrolls_an_authenticator_app_in_auth0s_two_steps_and_removes_it(
    client, account_app, ada, django_assert_max_num_queries
):
    token = access_token(client, account_app, ada)
    started = start_totp(client, token)
    body = started.json()
    assert set(body) == {"id", "auth_session", "barcode_uri", "manual_input_code"}
    assert started["Location"] == f"{ME}v1/authentication-methods/{body['id']}"
    assert (
        body["barcode_uri"].startswith("otpauth://totp/")
        and f"secret={body['manual_input_code']}" in body["barcode_uri"]
    )
    session = {"auth_session": body["auth_session"]}
    wrong = error_of(verify(client, token, body["id"], {**session, "otp_code": "000000"}), 400)
    assert wrong["errorCode"] == "invalid_otp_code"
    forged = error_of(verify(client, token, body["id"], {"auth_session": "forged", "otp_code": "000000"}), 400)
    assert forged["errorCode"] == "invalid_auth_session"
    code = pyotp.TOTP(body["manual_input_code"]).now()
    done = verify(client, token, body["id"], {**session, "otp_code": code})
    assert done.status_code == 200, done.content
    method = done.json()
    assert (method["id"], method["type"], method["confirmed"], method["usage"]) == (
        body["id"],
        "totp",
        True,
        ["secondary"],
    )
    assert len(method["recovery_codes"]) == 10
    assert AuditEvent.objects.filter(action="mfa.enroll", target_id=str(ada.pk), actor_id=str(ada.pk)).exists()

    with django_assert_max_num_queries(6):
        listed = client.get("/me/v1/authentication-methods", **bearer(token)).json()["authentication_methods"]
    assert [m["type"] for m in listed] == ["password", "totp", "recovery-code"]
    again = error_of(verify(client, token, body["id"], {**session, "otp_code": code}), 400)
    assert again["errorCode"] == "invalid_auth_session"  # the enrollment is over

    get_user_model().objects.filter(pk=ada.pk).update(last_login=timezone.now() - timedelta(minutes=11))
    stale = error_of(client.delete(f"/me/v1/authentication-methods/{body['id']}", **bearer(token)), 403)
    assert stale["errorCode"] == "recent_login_required"
    fresh = access_token(client, account_app, ada)
    removed = client.delete(f"/me/v1/authentication-methods/{body['id']}", **bearer(fresh))
    assert removed.status_code == 204
    assert [
        m["type"] for m in client.get("/me/v1/authentication-methods", **bearer(fresh)).json()["authentication_methods"]
    ] == ["password"]
    assert AuditEvent.objects.filter(action="mfa.remove", target_id=str(ada.pk)).count() == 1


# -- who may call it ------------------------------------------------------------------------------


def test_each_endpoint_needs_its_scope(client, account_app, ada):
    token = access_token(client, account_app, ada, scope="read:me:profile")
    assert client.get("/me/v1/profile", **bearer(token)).status_code == 200
    for method, path, scope in [
        ("patch", "/me/v1/profile", "update:me:profile"),
        ("get", "/me/v1/grants", "read:me:grants"),
        ("delete", "/me/v1/grants/abc", "delete:me:grants"),
        ("get", "/me/v1/authentication-methods", "read:me:authentication_methods"),
        ("post", "/me/v1/authentication-methods", "create:me:authentication_methods"),
        ("post", "/me/v1/authentication-methods/totp|1/verify", "create:me:authentication_methods"),
        ("delete", "/me/v1/authentication-methods/x", "delete:me:authentication_methods"),
    ]:
        refused = error_of(getattr(client, method)(path, **bearer(token)), 403)
        assert (refused["errorCode"], refused["message"]) == (
            "insufficient_scope",
            f"Insufficient scope, expected any of: {scope}",
        ), path


def test_a_third_party_apps_token_for_another_api_is_refused(client, ada, partner_with_orders):
    """The third-party app cannot get a token for this API (the decision's rule 3, tested at
    /authorize with the system APIs); the one it holds for its own API is for another audience."""
    partner, orders = partner_with_orders
    token = tokens_for(client, partner, ada, audience=orders.identifier, scope="read:things")["access_token"]
    assert error_of(client.get("/me/v1/profile", **bearer(token)), 401)["message"] == "Bad audience"


def test_a_client_credentials_token_is_refused(client, actor, make_grant):
    machine = application_create(actor=actor, name="Machine", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    management = ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)
    make_grant(management, client=machine.application, scope=["read:users"])
    form = {
        "grant_type": "client_credentials",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
        "audience": portcullis_settings.management_api_identifier,
    }
    token = client.post("/oauth/token", form).json()["access_token"]
    assert error_of(client.get("/me/v1/profile", **bearer(token)), 401)["message"] == "Bad audience"


def test_no_token_or_a_malformed_one_is_a_401(client):
    assert error_of(client.get("/me/v1/profile"), 401)["message"] == "Missing authentication"
    assert error_of(client.get("/me/v1/profile", **bearer("not-a-token")), 401)["message"] == "Invalid token"
    assert error_of(client.get("/me/v1/nothing-here"), 404)["errorCode"] == "inexistent_resource"


def test_second_factors_are_listed_after_the_password(client, account_app, ada):
    """The password first, then each confirmed factor, then the recovery codes as one method."""
    token = access_token(client, account_app, ada)
    enrollment = totp_enroll_start(actor=Actor.user(ada), user=ada)
    totp_enroll_confirm(actor=Actor.user(ada), user=ada, code=pyotp.TOTP(enrollment.secret).now())
    factor = Authenticator.objects.get(user=ada)

    methods = client.get("/me/v1/authentication-methods", **bearer(token)).json()["authentication_methods"]
    assert [(m["type"], m["usage"]) for m in methods] == [
        ("password", ["primary"]),
        ("totp", ["secondary"]),
        ("recovery-code", ["secondary"]),
    ]
    totp = methods[1]
    assert (totp["id"], totp["name"]) == (f"totp|{factor.pk}", factor.name)
