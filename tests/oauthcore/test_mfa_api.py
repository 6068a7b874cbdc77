"""The MFA API (``{ISSUER}/mfa/``) over HTTP, with tokens from the real /authorize and /oauth/token.

A first-party login or account UI holds a token of the signed-in user for the MFA API's audience:
it enrolls an authenticator app (``POST /mfa/associate``, confirmed with a code the app made at
``POST /mfa/associate/confirm``), lists the user's factors and removes one. The factor then guards
the next login through /login and /login/mfa. Errors are Auth0's ``{"error", "error_description"}``;
RFC 6750 §3 governs the 401 and 403 answers. Codes are computed with pyotp, as an app would.
"""

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SubjectType, mfa_api_scopes
from oauthcore.models import AuditEvent, Authenticator, Connection, RecoveryCode, ResourceServer
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from tests.e2e.oauth_helpers import Browser, oauth_client
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = [pytest.mark.usefixtures("fast_password_hashing")]

MFA = portcullis_settings.mfa_api_identifier
ALL_SCOPES = " ".join(value for value, _ in mfa_api_scopes())
PASSWORD = "a long demo passphrase 1"


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_of(response, status: int, error: str) -> str:
    """Auth0's MFA API error body, with its status; its description."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error, body
    return body["error_description"]


def post(client, path, body, token):
    return client.post(path, json.dumps(body), content_type="application/json", **bearer(token))


def next_code(secret: str) -> str:
    """A code of the next time step (within the drift allowed): the one before may be used already."""
    return pyotp.TOTP(secret).at(time.time() + 30)


@pytest.fixture
def ada(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)


@pytest.fixture
def login_app(actor, make_grant):
    """The tenant's own first-party login UI, with a user grant on the MFA API."""
    issued = application_create(
        actor=actor,
        name="Login UI",
        app_type=AppType.REGULAR_WEB,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    api = ResourceServer.objects.get(identifier=MFA)
    make_grant(api, client=issued.application, allow_all_scopes=True, subject_type=SubjectType.USER)
    return issued


def access_token(client, issued, user, scope=ALL_SCOPES) -> str:
    client.force_login(user)
    path = authorize_path(issued.application, MFA, scope=scope)
    response = client.get(path)
    if response.status_code == 200:  # the consent screen
        response = client.post(path, {"decision": "accept", "scope": scope.split()})
    tokens = client.post("/oauth/token", exchange(issued, code_from(response))).json()
    client.logout()
    return tokens["access_token"]


def enroll(client, token) -> tuple[str, dict]:
    """An authenticator app associated and confirmed: its secret and the confirmation's body."""
    associated = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token)
    assert associated.status_code == 200, associated.content
    secret = associated.json()["secret"]
    confirmed = post(client, "/mfa/associate/confirm", {"otp": pyotp.TOTP(secret).now()}, token)
    assert confirmed.status_code == 200, confirmed.content
    return secret, confirmed.json()


# -- enrolling, listing, removing ------------------------------------------------------------------


@pytest.mark.django_db
def test_associate_answers_auth0s_otp_body_and_a_code_the_app_made_confirms_it(client, login_app, ada):
    token = access_token(client, login_app, ada)
    associated = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token)
    assert associated.status_code == 200, associated.content
    body = associated.json()
    assert body["authenticator_type"] == "otp"
    uri = urlsplit(body["barcode_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert not Authenticator.objects.get(user=ada).confirmed  # not a factor until a code is typed

    wrong = post(client, "/mfa/associate/confirm", {"otp": "000000"}, token)
    assert error_of(wrong, 403, "invalid_grant") == "Invalid otp_code."
    confirmed = post(client, "/mfa/associate/confirm", {"otp": pyotp.TOTP(body["secret"]).now()}, token)
    assert confirmed.status_code == 200, confirmed.content
    done = confirmed.json()
    assert (done["id"], done["authenticator_type"], done["active"]) == (body["id"], "otp", True)
    assert len(done["recovery_codes"]) == 10 and RecoveryCode.objects.filter(user=ada).count() == 10
    events = AuditEvent.objects.filter(target_id=str(ada.pk), action__startswith="mfa.")
    assert set(events.values_list("action", flat=True)) == {"mfa.totp_enroll_start", "mfa.enroll", "mfa.recovery_codes"}
    assert all((e.actor_type, e.actor_id) == ("user", str(ada.pk)) for e in events)


@pytest.mark.django_db
def test_the_list_has_auth0s_fields_in_a_few_statements(client, login_app, ada, django_assert_max_num_queries):
    token = access_token(client, login_app, ada)
    enroll(client, token)
    with django_assert_max_num_queries(5):
        listed = client.get("/mfa/authenticators", **bearer(token))
    assert listed.status_code == 200
    recovery, otp = listed.json()
    assert recovery == {"id": f"recovery-code|{ada.uid}", "authenticator_type": "recovery-code", "active": True}
    assert (otp["authenticator_type"], otp["active"], otp["name"]) == ("otp", True, "Authenticator app")
    assert otp["id"].startswith("totp|") and otp["last_auth_at"]


@pytest.mark.django_db
def test_a_second_association_is_refused_while_an_app_is_enrolled(client, login_app, ada):
    token = access_token(client, login_app, ada)
    enroll(client, token)
    again = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token)
    assert "Remove it first" in error_of(again, 409, "already_enrolled")
    oob = post(client, "/mfa/associate", {"authenticator_types": ["oob"]}, token)
    error_of(oob, 400, "unsupported_challenge_type")
    extra = post(client, "/mfa/associate", {"authenticator_types": ["otp"], "oob_channels": ["sms"]}, token)
    assert "oob_channels" in error_of(extra, 400, "invalid_request")


@pytest.mark.django_db
def test_removing_needs_a_recent_login_and_takes_the_recovery_codes_with_the_last_factor(client, login_app, ada):
    token = access_token(client, login_app, ada)
    enroll(client, token)
    (factor,) = Authenticator.objects.filter(user=ada)
    path = f"/mfa/authenticators/totp|{factor.pk}"
    get_user_model().objects.filter(pk=ada.pk).update(last_login=timezone.now() - timedelta(minutes=11))
    stale = client.delete(path, **bearer(token))
    assert "recent login" in error_of(stale, 403, "access_denied")
    assert Authenticator.objects.filter(pk=factor.pk).exists()

    fresh = access_token(client, login_app, ada)  # a new login, a new token
    codes = client.delete(f"/mfa/authenticators/recovery-code|{ada.uid}", **bearer(fresh))
    error_of(codes, 400, "invalid_request")
    removed = client.delete(path, **bearer(fresh))
    assert removed.status_code == 204 and removed.content == b""
    assert not Authenticator.objects.filter(user=ada).exists() and not RecoveryCode.objects.filter(user=ada).exists()
    event = AuditEvent.objects.get(action="mfa.remove", target_id=str(ada.pk))
    assert (event.actor_type, event.actor_id, event.data["kind"]) == ("user", str(ada.pk), "totp")
    assert client.get("/mfa/authenticators", **bearer(fresh)).json() == []
    error_of(client.delete(path, **bearer(fresh)), 404, "not_found")


@pytest.mark.django_db
def test_another_users_authenticator_is_not_found_and_stays(client, login_app, ada):
    bob = get_user_model().objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    bobs_token = access_token(client, login_app, bob)
    enroll(client, bobs_token)
    bobs = Authenticator.objects.get(user=bob)
    token = access_token(client, login_app, ada)
    error_of(client.delete(f"/mfa/authenticators/totp|{bobs.pk}", **bearer(token)), 404, "not_found")
    assert Authenticator.objects.filter(pk=bobs.pk).exists()


# -- codes: wrong, replayed, too many -------------------------------------------------------------


@pytest.mark.django_db
def test_the_confirming_code_is_not_accepted_again_at_login_rfc_6238_section_5_2(client, login_app, ada):
    token = access_token(client, login_app, ada)
    associated = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token).json()
    code = pyotp.TOTP(associated["secret"]).now()
    assert post(client, "/mfa/associate/confirm", {"otp": code}, token).status_code == 200
    browser = Client()
    assert browser.post("/login", {"username": "ada", "password": PASSWORD})["Location"] == "/login/mfa"
    replay = browser.post("/login/mfa", {"method": "otp", "code": code})
    assert replay.status_code == 400 and "_auth_user_id" not in browser.session
    assert AuditEvent.objects.filter(action="mfa.verify_failed", reason="A code already used.").exists()


@pytest.mark.django_db
def test_wrong_codes_lock_the_confirmation_with_429_and_retry_after(client, login_app, ada):
    token = access_token(client, login_app, ada)
    secret = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token).json()["secret"]
    answers = [post(client, "/mfa/associate/confirm", {"otp": "000000"}, token) for _ in range(6)]
    assert answers[0].status_code == 403 and answers[-1].status_code == 429
    locked = post(client, "/mfa/associate/confirm", {"otp": pyotp.TOTP(secret).now()}, token)
    assert error_of(locked, 429, "too_many_attempts").startswith("Too many requests.")
    assert int(locked["Retry-After"]) > 0
    assert not Authenticator.objects.get(user=ada).confirmed


# -- who may call it ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_endpoint_needs_its_scope_rfc_6750_section_3_1(client, login_app, ada):
    token = access_token(client, login_app, ada, scope="read:authenticators")
    assert client.get("/mfa/authenticators", **bearer(token)).status_code == 200
    for method, path, scope in [
        ("post", "/mfa/associate", "enroll"),
        ("post", "/mfa/associate/confirm", "enroll"),
        ("delete", "/mfa/authenticators/totp|1", "remove:authenticators"),
    ]:
        response = getattr(client, method)(path, "{}", content_type="application/json", **bearer(token))
        assert scope in error_of(response, 403, "insufficient_scope")
        assert f'error="insufficient_scope", scope="{scope}"' in response["WWW-Authenticate"]
    assert not Authenticator.objects.exists()


@pytest.mark.django_db
def test_no_token_or_a_bad_one_is_a_401_with_a_bearer_challenge_rfc_6750_section_3(client, login_app, ada):
    missing = client.get("/mfa/authenticators")
    error_of(missing, 401, "unauthorized")
    assert missing["WWW-Authenticate"] == f'Bearer realm="{MFA}"'  # no error code when no token came
    bad = client.get("/mfa/authenticators", HTTP_AUTHORIZATION="Bearer not-a-token")
    error_of(bad, 401, "invalid_token")
    assert 'error="invalid_token"' in bad["WWW-Authenticate"]
    error_of(client.get("/mfa/nothing-here"), 404, "not_found")


@pytest.mark.django_db
def test_a_token_for_the_my_account_api_is_refused_here(client, actor, make_grant, ada):
    issued = application_create(
        actor=actor,
        name="Account",
        app_type=AppType.REGULAR_WEB,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE],
    )
    me = portcullis_settings.my_account_api_identifier
    make_grant(
        ResourceServer.objects.get(identifier=me),
        client=issued.application,
        allow_all_scopes=True,
        subject_type=SubjectType.USER,
    )
    client.force_login(ada)
    response = client.get(authorize_path(issued.application, me, scope="read:me:authentication_methods"))
    if response.status_code == 200:
        response = client.post(
            authorize_path(issued.application, me, scope="read:me:authentication_methods"),
            {"decision": "accept", "scope": ["read:me:authentication_methods"]},
        )
    token = client.post("/oauth/token", exchange(issued, code_from(response))).json()["access_token"]
    client.logout()
    assert error_of(client.get("/mfa/authenticators", **bearer(token)), 401, "invalid_token") == "Bad audience"


# -- the whole journey, with outside clients --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_login_ui_enrolls_an_app_the_next_login_asks_for_it_and_it_is_removed(live_server, actor, make_grant):
    """requests + authlib as a first-party login UI: token, associate, confirm, list; then a new
    browser signs in with the password and the app's code; then the factor is removed."""
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    issued = application_create(
        actor=actor,
        name="Login UI",
        app_type=AppType.REGULAR_WEB,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE],
    )
    make_grant(
        ResourceServer.objects.get(identifier=MFA),
        client=issued.application,
        allow_all_scopes=True,
        subject_type=SubjectType.USER,
    )
    base = live_server.url

    def token_through(browser: Browser, otp: str | None = None) -> str:
        oauth = oauth_client(issued.application, issued.client_secret, CALLBACK, ALL_SCOPES)
        url, _state = oauth.create_authorization_url(f"{base}/authorize", code_verifier="v" * 50, audience=MFA)
        outcome = browser.authorize(url, username="ada", otp=otp)
        if outcome.kind == "consent":
            outcome = browser.answer_consent(outcome, accept=True)
        assert outcome.kind == "redirect", outcome.page_text
        tokens = oauth.fetch_token(
            f"{base}/oauth/token", authorization_response=outcome.location, code_verifier="v" * 50
        )
        return tokens["access_token"]

    def api(method: str, path: str, token: str, body=None) -> requests.Response:
        return requests.request(
            method, f"{base}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    token = token_through(Browser(base))
    associated = api("POST", "/mfa/associate", token, {"authenticator_types": ["otp"]}).json()
    secret = associated["secret"]
    confirmed = api("POST", "/mfa/associate/confirm", token, {"otp": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
    listed = api("GET", "/mfa/authenticators", token).json()
    assert [a["authenticator_type"] for a in listed] == ["recovery-code", "otp"]

    # The next login: the password alone stops at /login/mfa; the app's code lets the user in.
    second = Browser(base)
    stopped = second.login("ada")
    assert stopped.status_code == 302 and stopped.headers["Location"] == "/login/mfa"
    fresh = token_through(second, otp=next_code(secret))

    removed = api("DELETE", f"/mfa/authenticators/{associated['id']}", fresh)
    assert removed.status_code == 204
    assert api("GET", "/mfa/authenticators", fresh).json() == []
    assert AuditEvent.objects.filter(action="mfa.remove").count() == 1
    assert AuditEvent.objects.filter(action="mfa.verify", data__kind="totp").count() == 1


@pytest.mark.django_db
def test_auth0s_mfa_otp_grant_and_challenge_are_not_offered(client, login_app, ada):
    """The conformance statement's deviations: confirmation is /mfa/associate/confirm, and a login's
    second step is /login/mfa, so neither the mfa-otp grant nor /mfa/challenge exists."""
    token = access_token(client, login_app, ada)
    grant = client.post(
        "/oauth/token",
        {
            "grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
            "client_id": login_app.application.client_id,
            "client_secret": login_app.client_secret,
            "mfa_token": token,
            "otp": "123456",
        },
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    challenge = post(client, "/mfa/challenge", {"challenge_type": "otp", "mfa_token": token}, token)
    error_of(challenge, 404, "not_found")


@pytest.mark.django_db
def test_an_unconfirmed_app_is_listed_inactive_and_a_stale_login_cannot_associate_over_a_factor(client, login_app, ada):
    token = access_token(client, login_app, ada)
    post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token)
    (pending,) = client.get("/mfa/authenticators", **bearer(token)).json()
    assert (pending["authenticator_type"], pending["active"], pending["last_auth_at"]) == ("otp", False, None)

    enroll(client, token)
    get_user_model().objects.filter(pk=ada.pk).update(last_login=timezone.now() - timedelta(minutes=11))
    stale = post(client, "/mfa/associate", {"authenticator_types": ["otp"]}, token)
    assert "recent login" in error_of(stale, 403, "access_denied")
    assert AuditEvent.objects.filter(action="mfa.totp_enroll_start", target_id=str(ada.pk)).count() == 2
