"""End users' one-time links over HTTP: forgot password, the reset form, email verification, and the
attacks on them (reuse, expiry, a changed address or password, forged tokens, a spoofed Host,
enumeration). Emails are read from the outbox, as the worker would send them."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from consent.services import user_grant_record
from oauthcore.audit_chain import seal, verify_chain
from oauthcore.constants import DATABASE_CONNECTION_NAME, RedirectionPolicy
from oauthcore.models import AccountLink, AuditEvent, Connection, OutboundEmail
from oauthcore.services.account_links import account_link_issue, password_reset_request, verification_email_send
from oauthcore.services.applications import application_update
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.users import user_password_set, user_update
from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

ISSUER = "https://login.example.com"
PASSWORD = "an old passphrase 123"
NEW_PASSWORD = "a brand new passphrase 456"
LINK_RE = re.compile(r"https?://\S+/login/(?:reset|verify)/[\w-]+")
SCOPE = "offline_access read:things"


@pytest.fixture(autouse=True)
def issuer(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": ISSUER}


@pytest.fixture
def dora(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="dora", email="dora@example.com", password=PASSWORD)


def link_in(email: OutboundEmail) -> str:
    return LINK_RE.search(email.body).group(0)


def path_of(url: str) -> str:
    assert url.startswith(ISSUER + "/login/")
    return url[len(ISSUER) :]


def ask_reset(client, email: str, **extra):
    return client.post("/login/password-reset", {"email": email}, **extra)


def neutral(response) -> str:
    """The page without its per-request CSRF tokens (the form's and htmx's)."""
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", response.content.decode())


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, dora):
    known = ask_reset(client, "DORA@example.com")
    unknown = ask_reset(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert neutral(known) == neutral(unknown)
    assert "Check your email" in known.content.decode()
    sent = list(OutboundEmail.objects.all())
    assert [email.to for email in sent] == [["dora@example.com"]]
    assert sent[0].kind == "account.reset_email" and link_in(sent[0]).startswith(ISSUER + "/login/reset/")


def test_the_emailed_link_points_at_the_issuer_whatever_the_host_header_says(client, dora, settings):
    settings.ALLOWED_HOSTS = ["*"]
    ask_reset(client, "dora@example.com", HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")

    body = OutboundEmail.objects.get().body
    assert "evil.example" not in body
    assert link_in(OutboundEmail.objects.get()).startswith(ISSUER + "/login/reset/")


def test_forgot_password_is_rate_limited_per_address_typed_known_or_not(client, dora, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"account_email": "2/h"}}
    for _ in range(2):
        assert ask_reset(client, "nobody@example.com").status_code == 200
    refused = ask_reset(client, "nobody@example.com")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many requests" in refused.content.decode()
    assert ask_reset(client, "dora@example.com").status_code == 200  # another address still goes


def test_forgot_password_is_rate_limited_per_caller(client, dora, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"account_email_ip": "2/h"}}
    ask_reset(client, "a@example.com")
    ask_reset(client, "b@example.com")
    assert ask_reset(client, "dora@example.com").status_code == 429
    assert not OutboundEmail.objects.exists()


@pytest.fixture
def holding_tokens(client, actor, oauth_tenant, dora):
    """Dora signed in in ``client``, holding a refresh token of the partner app got through /authorize."""
    web = oauth_tenant.web
    user_grant_record(user=dora, client=web.application, audience=oauth_tenant.api.identifier, scopes=SCOPE.split())
    client.force_login(dora)
    code = code_from(client.get(authorize_path(web.application, oauth_tenant.api.identifier, scope=SCOPE)))
    tokens = client.post("/oauth/token", exchange(web, code)).json()
    assert tokens["refresh_token"]
    return tokens


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


def test_a_reset_signs_out_every_session_and_refuses_the_old_refresh_token(client, oauth_tenant, dora, holding_tokens):
    """RFC 6749 §10.4: a refresh token is revoked when the password it came with is replaced."""
    other = Client()  # the reset happens in another browser
    ask_reset(other, "dora@example.com")
    reset_path = path_of(link_in(OutboundEmail.objects.get()))

    form = other.get(reset_path)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    mismatch = other.post(reset_path, {"password": NEW_PASSWORD, "password_again": "something else 789"})
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.content.decode()
    weak = other.post(reset_path, {"password": "password", "password_again": "password"})
    assert weak.status_code == 400 and "too common" in weak.content.decode()
    done = other.post(reset_path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    assert done.status_code == 200 and "Your password is changed" in done.content.decode()
    dora.refresh_from_db()
    assert dora.check_password(NEW_PASSWORD)
    answer = refresh(client, oauth_tenant, holding_tokens)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    page = client.get("/account/apps")
    assert page.status_code == 302 and page["Location"].startswith("/login")  # the old session is gone
    actions = list(AuditEvent.objects.filter(target_id=str(dora.pk)).values_list("action", flat=True))
    assert {"account_link.issue", "account_link.redeem", "user.password_change", "tokens.revoke"} <= set(actions)
    token = reset_path.rsplit("/", 1)[-1]
    assert not AuditEvent.objects.filter(data__icontains=NEW_PASSWORD).exists()
    assert not AuditEvent.objects.filter(data__icontains=token).exists()  # nor the link
    seal()
    assert verify_chain().intact

    again = other.post(
        reset_path, {"password": "yet another passphrase 1", "password_again": "yet another passphrase 1"}
    )
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert AuditEvent.objects.filter(action="account_link.refused", reason="used").exists()


def test_a_reset_link_is_void_once_the_password_changed(client, actor, dora):
    issued = account_link_issue(actor=actor, user=dora, purpose="reset_password")
    user_password_set(actor=actor, user=dora, password="changed meanwhile 777")

    response = client.get(path_of(issued.url))

    assert response.status_code == 410 and "Your password changed since this link was sent" in response.content.decode()
    assert AuditEvent.objects.filter(action="account_link.refused", reason="password changed").exists()


def test_an_expired_link_is_refused(client, actor, dora):
    issued = account_link_issue(actor=actor, user=dora, purpose="reset_password")
    AccountLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(path_of(issued.url), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    assert response.status_code == 410 and "expired" in response.content.decode()
    dora.refresh_from_db()
    assert dora.check_password(PASSWORD)


@pytest.mark.parametrize("path", ["/login/reset/", "/login/verify/"])
def test_a_forged_token_finds_nothing(client, actor, dora, path):
    issued = account_link_issue(actor=actor, user=dora, purpose="reset_password")
    forged = issued.token[:-2] + ("AA" if not issued.token.endswith("AA") else "BB")

    response = client.get(path + forged)

    assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    assert not AuditEvent.objects.filter(action="account_link.refused").exists()


def test_a_verification_link_verifies_the_address_once(client, actor, dora):
    verification_email_send(actor=actor, user=dora)
    email = OutboundEmail.objects.get()
    assert email.kind == "account.verify_email" and email.to == ["dora@example.com"]
    verify_path = path_of(link_in(email))

    page = client.get(verify_path)  # a mail scanner opening the link uses nothing up
    assert page.status_code == 200 and "Verify my email" in page.content.decode()
    dora.refresh_from_db()
    assert not dora.email_verified
    done = client.post(verify_path)

    assert done.status_code == 200 and "Your email is verified" in done.content.decode()
    dora.refresh_from_db()
    assert dora.email_verified
    assert AuditEvent.objects.filter(action="account_link.redeem", target_id=str(dora.pk)).exists()
    assert AuditEvent.objects.filter(action="user.update", target_id=str(dora.pk)).exists()
    again = client.post(verify_path)
    assert again.status_code == 200 and "was already verified" in again.content.decode()
    assert AuditEvent.objects.filter(action="account_link.refused", reason="used").count() == 1


def test_a_verification_link_for_a_changed_address_is_refused(client, actor, dora):
    issued = verification_email_send(actor=actor, user=dora)
    user_update(actor=actor, user=dora, email="dora@elsewhere.example")

    response = client.post(path_of(issued.url))

    assert response.status_code == 410 and "no longer has" in response.content.decode()
    dora.refresh_from_db()
    assert not dora.email_verified
    assert AuditEvent.objects.filter(action="account_link.refused", reason="email changed").exists()


def test_an_address_verified_on_another_account_gets_a_clear_page_not_an_error(client, actor, dora):
    claim = get_user_model().objects.create_user(username="dora-2", email="dora@example.com", password=PASSWORD)
    issued = verification_email_send(actor=actor, user=claim)
    user_update(actor=actor, user=dora, email_verified=True)

    response = client.post(path_of(issued.url))

    assert response.status_code == 409 and "already verified on another account" in response.content.decode()
    claim.refresh_from_db()
    assert not claim.email_verified
    assert AuditEvent.objects.filter(action="account_link.refused", reason="email verified elsewhere").exists()
    assert AccountLink.objects.get(pk=issued.link.pk).used_at is None


def test_a_blocked_user_cannot_use_a_link(client, actor, dora):
    issued = account_link_issue(actor=actor, user=dora, purpose="reset_password")
    user_update(actor=actor, user=dora, is_active=False)

    assert client.get(path_of(issued.url)).status_code == 410
    assert password_reset_request(email="dora@example.com") == 0  # and asks for none


def test_only_the_verified_holder_of_an_address_gets_a_reset_link(actor, dora):
    user_update(actor=actor, user=dora, email_verified=True)
    get_user_model().objects.create_user(username="claim", email="dora@example.com", password=PASSWORD)

    assert password_reset_request(email="dora@example.com") == 1
    assert AccountLink.objects.get().user == dora


# -- where the flow ends: the redirection rule --------------------------------------------------------


def end_of_verification(client, actor, app, dora):
    next_url = authorize_path(app, "https://orders.example.com/")
    issued = verification_email_send(actor=actor, user=dora, application=app, next_url=next_url)
    return client.post(path_of(issued.url)).content.decode(), next_url


def test_an_app_that_allows_redirection_gets_its_user_back(client, actor, make_app, dora):
    app = make_app(name="Shop", callbacks=["https://shop.example.com/callback"])
    application_update(actor=actor, application=app, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)
    app.refresh_from_db()

    page, next_url = end_of_verification(client, actor, app, dora)

    assert "Back to Shop" in page
    assert f'href="{next_url.replace("&", "&amp;")}"' in page


def test_an_app_protected_against_open_redirects_never_gets_the_flow_end(client, actor, make_app, dora):
    app = make_app(name="Partner Shop", is_first_party=False, callbacks=["https://partner-shop.example.com/callback"])
    assert app.redirection_policy == RedirectionPolicy.OPEN_REDIRECT_PROTECTION

    page, _ = end_of_verification(client, actor, app, dora)

    assert "Back to Partner Shop" not in page and "partner-shop.example.com" not in page
    assert "/authorize" not in page
    assert "You can close this page" in page
