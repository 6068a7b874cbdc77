"""Multi-factor authentication over HTTP: the second login step, the tenant's MFA policy,
``acr_values``, amr/acr in tokens (RFC 8176, OpenID Connect Core §2) and rule 10 at a refresh.

Every test drives the real pages with Django's test client and computes codes with pyotp, as an
authenticator app would.
"""

import base64
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from oauthcore.audit import Actor
from oauthcore.constants import DATABASE_CONNECTION_NAME, MFA_ACR, AppType, GrantType, SubjectType
from oauthcore.models import AuditEvent, Authenticator, Connection, RecoveryCode
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.mfa import (
    MfaError,
    authenticator_remove,
    recovery_code_use,
    recovery_codes_regenerate,
    totp_enroll_confirm,
    totp_enroll_start,
    totp_verify,
)
from oauthcore.services.tenant import tenant_settings_update
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a long passphrase 7"
MFA_AMR = ["pwd", "otp", "mfa"]


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def next_code(secret: str) -> str:
    """A code of the next time step: a code is accepted once, and the enrollment used the current one."""
    return pyotp.TOTP(secret).at(time.time() + 30)


@pytest.fixture
def user(actor):
    # Third-party apps sign users in through domain-level connections only (rule 6).
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=database, is_domain_connection=True)
    return get_user_model().objects.create_user(username="mira", email="mira@example.com", password=PASSWORD)


@pytest.fixture
def enrolled(user):
    """``user`` with a confirmed authenticator app: (its secret, the recovery codes shown)."""
    enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
    codes = totp_enroll_confirm(actor=Actor.user(user), user=user, code=pyotp.TOTP(enrollment.secret).now())
    return enrollment.secret, codes


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:things", "Read your things")],
        user_policy="require_client_grant",
        allow_offline_access=True,
        skip_consent_for_verifiable_first_party_clients=True,
    )


@pytest.fixture
def make_client(actor, orders, make_grant):
    def make(*, first_party=False):
        issued = application_create(
            actor=actor,
            name="First-party app" if first_party else "Partner app",
            app_type=AppType.REGULAR_WEB,
            is_first_party=first_party,
            callbacks=[CALLBACK],
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        )
        make_grant(orders, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
        return issued

    return make


def log_in(client, next_url: str = "/account/apps"):
    return client.post(f"/login?{urlencode({'next': next_url})}", {"username": "mira", "password": PASSWORD})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def tokens_for(client, issued, orders, *, scope="read:things offline_access", extra=""):
    path = authorize_path(issued.application, orders.identifier, scope=scope) + extra
    response = client.get(path)
    if response.status_code == 200:  # the consent screen (third-party apps)
        response = client.post(path, {"decision": "accept", "scope": scope.split()})
    return client.post("/oauth/token", exchange(issued, code_from(response))).json()


def refresh(client, issued, refresh_token):
    return client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        },
    )


# -- enrolling and using factors (the services) ----------------------------------------------------


def test_an_authenticator_app_counts_only_once_a_code_it_made_was_typed(user):
    enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
    authenticator = Authenticator.objects.get(user=user)
    assert not authenticator.confirmed
    assert enrollment.secret not in authenticator.sealed_secret  # sealed at rest, never in clear
    assert enrollment.uri.startswith("otpauth://totp/") and f"secret={enrollment.secret}" in enrollment.uri
    with pytest.raises(MfaError, match="not the one your app shows"):
        totp_enroll_confirm(actor=Actor.user(user), user=user, code="000000")
    assert not totp_verify(user=user, code=pyotp.TOTP(enrollment.secret).now())  # unconfirmed: no factor yet
    codes = totp_enroll_confirm(actor=Actor.user(user), user=user, code=pyotp.TOTP(enrollment.secret).now())
    assert Authenticator.objects.get(user=user).confirmed
    # Ten recovery codes shown once; only their SHA-256 is stored.
    assert len(codes) == len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))
    assert len(stored) == 10 and not stored & set(codes)
    assert AuditEvent.objects.filter(action="mfa.enroll", target_id=str(user.pk)).exists()


def test_a_totp_code_is_accepted_once_rfc_6238_section_5_2(user, enrolled):
    secret, _codes = enrolled
    code = next_code(secret)
    assert totp_verify(user=user, code=code)
    assert not totp_verify(user=user, code=code)  # the same code, the same time step: a replay
    assert not totp_verify(user=user, code=pyotp.TOTP(secret).now())  # an earlier step: refused too
    assert AuditEvent.objects.filter(action="mfa.verify_failed", reason="A code already used.").count() == 2


def test_a_recovery_code_works_once_and_new_ones_void_the_old(user, enrolled):
    _secret, codes = enrolled
    assert recovery_code_use(user=user, code=codes[0].upper())  # typed in capitals: the same code
    assert not recovery_code_use(user=user, code=codes[0])
    fresh = recovery_codes_regenerate(actor=Actor.user(user), user=user)
    assert not recovery_code_use(user=user, code=codes[1])
    assert recovery_code_use(user=user, code=fresh[0])


def test_removing_the_last_factor_takes_the_recovery_codes(user, enrolled):
    authenticator_remove(actor=Actor.user(user), authenticator=Authenticator.objects.get(user=user))
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="mfa.remove", target_id=str(user.pk)).exists()


# -- the login's second step ---------------------------------------------------------------------------


def test_a_password_alone_does_not_log_in_a_user_with_a_factor(client, user, enrolled):
    secret, _codes = enrolled
    response = log_in(client)
    assert response.status_code == 302 and response["Location"] == "/login/mfa"
    assert not signed_in(client)
    assert client.get("/account/apps")["Location"].startswith("/login")  # still anonymous everywhere
    page = client.get("/login/mfa")
    assert page.status_code == 200 and "authenticator app" in page.content.decode()
    wrong = client.post("/login/mfa", {"method": "otp", "code": "123456"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode() and not signed_in(client)
    right = client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    assert right.status_code == 302 and right["Location"] == "/account/apps"
    assert signed_in(client) and client.session["portcullis_amr"] == MFA_AMR


def test_a_replayed_code_does_not_log_in_a_second_browser(client, user, enrolled):
    secret, _codes = enrolled
    code = next_code(secret)
    log_in(client)
    assert client.post("/login/mfa", {"method": "otp", "code": code}).status_code == 302
    other = Client()
    log_in(other)
    replay = other.post("/login/mfa", {"method": "otp", "code": code})
    assert replay.status_code == 400 and not signed_in(other)


def test_wrong_codes_lock_the_second_step_with_429_and_retry_after(client, user, enrolled):
    secret, _codes = enrolled
    log_in(client)
    for _ in range(4):
        assert client.post("/login/mfa", {"method": "otp", "code": "000000"}).status_code == 400
    locked = client.post("/login/mfa", {"method": "otp", "code": "000000"})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many requests" in locked.content.decode()
    # Locked: even the right code waits for the lockout to end.
    assert client.post("/login/mfa", {"method": "otp", "code": next_code(secret)}).status_code == 429
    assert not signed_in(client)


def test_a_recovery_code_logs_in_once(client, user, enrolled):
    _secret, codes = enrolled
    log_in(client)
    response = client.post("/login/mfa", {"method": "recovery", "recovery_code": codes[3]})
    assert response.status_code == 302 and signed_in(client)
    assert client.session["portcullis_amr"] == ["pwd", "mfa"]
    other = Client()
    log_in(other)
    again = other.post("/login/mfa", {"method": "recovery", "recovery_code": codes[3]})
    assert again.status_code == 400 and "used already" in again.content.decode() and not signed_in(other)


def test_the_pending_step_expires(client, user, enrolled):
    secret, _codes = enrolled
    log_in(client)
    session = client.session
    session["portcullis_mfa_pending"]["at"] -= 601
    session.save()
    response = client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/login" and not signed_in(client)


# -- the tenant's policy and acr_values ---------------------------------------------------------------


def test_policy_never_lets_a_password_alone_in(client, actor, user, enrolled):
    tenant_settings_update(actor=actor, mfa_policy="never")
    response = log_in(client)
    assert response["Location"] == "/account/apps" and signed_in(client)
    assert client.session["portcullis_amr"] == ["pwd"]


def test_policy_optional_lets_a_user_without_a_factor_in_with_a_password(client, user):
    assert log_in(client)["Location"] == "/account/apps" and signed_in(client)


def test_policy_always_makes_a_user_enroll_at_login(client, actor, user):
    tenant_settings_update(actor=actor, mfa_policy="always")
    response = log_in(client)
    assert response["Location"] == "/login/mfa/enroll" and not signed_in(client)
    page = client.get("/login/mfa/enroll").content.decode()
    secret = page.split("data-totp-secret>")[1].split("<")[0]
    wrong = client.post("/login/mfa/enroll", {"code": "000000"})
    assert wrong.status_code == 400 and secret in wrong.content.decode()  # the same key, shown again
    done = client.post("/login/mfa/enroll", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and signed_in(client)
    assert done.content.decode().count("<li><code>") == 10  # the recovery codes, shown once
    assert client.session["portcullis_amr"] == MFA_AMR


def test_acr_values_asks_for_mfa_even_when_the_policy_is_never(client, actor, user, enrolled, make_client, orders):
    tenant_settings_update(actor=actor, mfa_policy="never")
    secret, _codes = enrolled
    issued = make_client(first_party=True)
    path = authorize_path(issued.application, orders.identifier) + "&" + urlencode({"acr_values": MFA_ACR})
    response = log_in(client, next_url=path)
    assert response["Location"] == "/login/mfa" and not signed_in(client)
    done = client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    assert done["Location"] == path
    tokens = client.post("/oauth/token", exchange(issued, code_from(client.get(path)))).json()
    assert claims_of(tokens["access_token"])["amr"] == MFA_AMR


def test_acr_values_steps_up_a_session_that_used_a_password_only(client, user, enrolled, make_client, orders):
    secret, _codes = enrolled
    issued = make_client(first_party=True)
    client.force_login(user)
    path = authorize_path(issued.application, orders.identifier) + "&" + urlencode({"acr_values": MFA_ACR})
    silent = client.get(path + "&prompt=none")
    answer = parse_qs(urlsplit(silent["Location"]).query)
    assert answer["error"] == ["interaction_required"]  # OpenID Connect Core §3.1.2.6
    assert answer["error_description"] == ["Multifactor authentication required"]
    step_up = client.get(path)
    assert step_up.status_code == 302 and step_up["Location"] == "/login/mfa?" + urlencode({"next": path})
    assert client.get(step_up["Location"]).status_code == 200
    assert client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})["Location"] == path
    # This session's first factor is not known here (it was not signed in at /login): only what was checked.
    assert client.session["portcullis_amr"] == ["otp", "mfa"]
    assert code_from(client.get(path))


def test_acr_values_makes_a_user_without_a_factor_enroll(client, user, make_client, orders):
    issued = make_client(first_party=True)
    path = authorize_path(issued.application, orders.identifier) + "&" + urlencode({"acr_values": MFA_ACR})
    assert log_in(client, next_url=path)["Location"] == "/login/mfa/enroll"


# -- amr and acr in tokens, and rule 10 at a refresh ------------------------------------------------


def test_tokens_of_a_login_with_a_second_factor_carry_amr_and_the_id_token_acr(
    client, user, enrolled, make_client, orders
):
    secret, _codes = enrolled
    issued = make_client(first_party=True)
    log_in(client)
    client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    tokens = tokens_for(client, issued, orders, scope="openid read:things offline_access")
    assert claims_of(tokens["access_token"])["amr"] == MFA_AMR
    id_token = claims_of(tokens["id_token"])
    assert id_token["amr"] == MFA_AMR and id_token["acr"] == MFA_ACR
    userinfo = client.get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert userinfo["sub"] == user.user_id and "amr" not in userinfo  # how the user logged in is the tokens' say
    refreshed = refresh(client, issued, tokens["refresh_token"]).json()
    assert claims_of(refreshed["access_token"])["amr"] == MFA_AMR  # the refresh keeps the login's methods


def test_tokens_of_a_password_login_carry_no_amr(client, user, make_client, orders):
    issued = make_client(first_party=True)
    log_in(client)
    tokens = tokens_for(client, issued, orders, scope="openid read:things")
    assert "amr" not in claims_of(tokens["access_token"]) and "acr" not in claims_of(tokens["id_token"])


def test_a_strict_apps_refresh_of_a_password_login_is_refused_once_the_tenant_requires_mfa(
    client, actor, user, make_client, orders
):
    strict, first_party = make_client(), make_client(first_party=True)
    log_in(client)
    strict_tokens = tokens_for(client, strict, orders)
    first_party_tokens = tokens_for(client, first_party, orders)
    tenant_settings_update(actor=actor, mfa_policy="always")
    response = refresh(client, strict, strict_tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Multifactor authentication required"}
    # A first-party app keeps its refresh (Auth0's rule is for third-party apps).
    assert refresh(client, first_party, first_party_tokens["refresh_token"]).status_code == 200


def test_a_strict_apps_refresh_of_a_login_with_a_second_factor_goes_on(
    client, actor, user, enrolled, make_client, orders
):
    secret, _codes = enrolled
    strict = make_client()
    log_in(client)
    client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    tokens = tokens_for(client, strict, orders)
    tenant_settings_update(actor=actor, mfa_policy="always")
    response = refresh(client, strict, tokens["refresh_token"])
    assert response.status_code == 200 and claims_of(response.json()["access_token"])["amr"] == MFA_AMR


def test_discovery_lists_the_acr_value_and_the_amr_claim(client):
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["acr_values_supported"] == [MFA_ACR]
    assert {"amr", "acr"} <= set(metadata["claims_supported"])


def test_a_forged_passkey_answer_is_a_wrong_answer_not_an_error(client, user, enrolled):
    log_in(client)
    response = client.post("/login/mfa", {"method": "passkey", "credential": '{"id": "x"}'})
    assert response.status_code == 400 and not signed_in(client)


def test_the_partner_portals_login_asks_for_the_second_factor_too(client, user, enrolled):
    secret, _codes = enrolled
    response = client.post("/portal/login", {"username": "mira", "password": PASSWORD})
    assert response["Location"] == "/login/mfa" and not signed_in(client)
    done = client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    assert done["Location"] == "/portal/" and signed_in(client)  # back to the portal, not the end users' page


def test_policy_always_steps_up_a_session_signed_in_before_it(client, actor, user, enrolled, make_client, orders):
    secret, _codes = enrolled
    issued = make_client(first_party=True)
    log_in(client)  # optional policy... but mira has a factor: the second step first
    client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    other = Client()
    other.force_login(user)  # a session without a second factor (signed in before the policy changed)
    tenant_settings_update(actor=actor, mfa_policy="always")
    path = authorize_path(issued.application, orders.identifier)
    assert code_from(client.get(path))  # the session that used a second factor goes on
    assert other.get(path)["Location"].startswith("/login/mfa?next=")


def test_the_second_factor_costs_the_hot_paths_at_most_one_statement(
    client, actor, user, enrolled, make_client, orders, django_assert_max_num_queries
):
    """/authorize of a session with a second factor: the code keeps its amr in the UPDATE the
    organization precedent uses (one statement more); the code exchange costs what it did, and a
    refresh checked against the policy always (rule 10) costs what it costs without: the policy
    comes from the policy cache."""
    secret, _codes = enrolled
    strict = make_client()
    log_in(client)
    client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})
    tokens = tokens_for(client, strict, orders)  # consent stored, caches warm
    path = authorize_path(strict.application, orders.identifier, scope="read:things offline_access")
    with django_assert_max_num_queries(7):  # test_token_endpoint_queries' 6, and the amr's UPDATE
        code = code_from(client.get(path))
    with django_assert_max_num_queries(8):  # test_token_endpoint_queries' code exchange: no more
        assert client.post("/oauth/token", exchange(strict, code)).status_code == 200

    def refresh_statements() -> int:
        refresh(client, strict, tokens["refresh_token"])  # warm (a regular web app's token does not rotate)
        with django_assert_max_num_queries(20) as statements:
            assert refresh(client, strict, tokens["refresh_token"]).status_code == 200
        return len(statements.captured_queries)

    optional = refresh_statements()
    tenant_settings_update(actor=actor, mfa_policy="always")
    assert refresh_statements() == optional


def test_the_admins_login_sends_an_account_with_a_second_factor_to_login(client, user, enrolled):
    """The admin's login has no second step: a password alone must not open a session there."""
    type(user).objects.filter(pk=user.pk).update(is_staff=True)
    response = client.post("/admin/login/?next=/admin/", {"username": "mira", "password": PASSWORD})
    assert response.status_code == 200 and not signed_in(client)
    assert "log in at /login?next=/admin/ instead" in response.content.decode()
    secret, _codes = enrolled
    log_in(client, next_url="/admin/")
    assert client.post("/login/mfa", {"method": "otp", "code": next_code(secret)})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200  # a staff session, with its second factor
