"""``/account/email``: an end user changes their address over HTTP. The new address is proven by a
link sent to it before it is the account's; the old one keeps working until then and hears of the
change; the answer never says whether the address is another account's; all audited."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from oauthcore.constants import DATABASE_CONNECTION_NAME, ConnectionStrategy
from oauthcore.models import AccountLink, AuditEvent, Connection, OutboundEmail
from oauthcore.services.account_links import password_reset_email_send
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.users import user_password_set, user_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

ISSUER = "https://login.example.com"
PASSWORD = "old enough passphrase 7"
NEW = "dora.new@example.com"
LINK_RE = re.compile(re.escape(ISSUER) + r"(/login/change-email/[\w-]+)")


@pytest.fixture(autouse=True)
def issuer(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": ISSUER}


@pytest.fixture
def dora(client, actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    user = get_user_model().objects.create_user(
        username="dora", email="dora@example.com", password=PASSWORD, email_verified=True
    )
    client.force_login(user)
    return user


def ask(client, email=NEW, password=PASSWORD):
    return client.post("/account/email", {"email": email, "password": password})


def link_path() -> str:
    return LINK_RE.search(OutboundEmail.objects.get(to=[NEW]).body).group(1)


def neutral(response) -> str:
    """The page without its per-request CSRF tokens."""
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", response.content.decode())


def test_the_hub_links_to_the_page_which_asks_to_log_in_first(client, dora):
    assert 'href="/account/email"' in client.get("/account/").content.decode()
    anonymous = Client().get("/account/email")
    assert anonymous.status_code == 302 and anonymous["Location"] == "/login?next=/account/email"
    page = client.get("/account/email")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_the_form_needs_its_csrf_token(dora):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(dora)
    assert browser.post("/account/email", {"email": NEW, "password": PASSWORD}).status_code == 403
    assert not AccountLink.objects.exists()


def test_a_wrong_password_is_a_field_error_and_counts_toward_the_lock(client, dora):
    wrong = ask(client, password="guess")
    assert wrong.status_code == 400
    assert wrong.context["form"].errors["password"] == ["That is not your current password."]
    assert wrong.context["form"]["email"].value() == NEW  # what was typed stays
    for _ in range(3):
        ask(client, password="guess")
    assert client.post("/account/password", {"old_password": "guess"}).status_code == 429  # the same count
    locked = ask(client)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert not AccountLink.objects.exists() and not OutboundEmail.objects.exists()


def test_the_old_address_stays_until_the_link_from_the_new_one_is_used(client, dora):
    sent = ask(client)
    assert sent.status_code == 200 and "Check your inbox" in sent.content.decode()
    dora.refresh_from_db()
    assert (dora.email, dora.email_verified) == ("dora@example.com", True)  # nothing changed yet
    email = OutboundEmail.objects.get(to=[NEW])
    assert NEW in email.body and email.subject.startswith("Verify your email")
    link = AccountLink.objects.get(purpose="change_email")
    token = link_path().rsplit("/", 1)[1]
    assert link.email == NEW and token not in link.token_digest  # only the digest is kept
    assert Client().login(username="dora@example.com", password=PASSWORD)  # the old address still signs in

    asked = Client().get(link_path())  # any browser: the link is the proof; GET changes nothing
    assert asked.status_code == 200 and NEW in asked.content.decode()
    dora.refresh_from_db()
    assert dora.email == "dora@example.com"

    done = Client().post(link_path())
    assert done.status_code == 200 and "Your email is changed" in done.content.decode()
    dora.refresh_from_db()
    assert (dora.email, dora.email_verified) == (NEW, True)
    notice = OutboundEmail.objects.get(to=["dora@example.com"])
    assert NEW in notice.body and "was changed" in notice.subject
    hub = client.get("/account/").content.decode()  # this session stays
    assert f"{NEW} <span" in hub and "(verified)" in hub


def test_reset_links_sent_to_the_old_address_stop_working_once_it_changed(client, actor, dora):
    reset = password_reset_email_send(actor=actor, user=dora)
    ask(client)
    Client().post(link_path())
    refused = Client().get(reset.url[len(ISSUER) :])
    assert refused.status_code == 410 and "an address your account no longer has" in refused.content.decode()


def test_a_used_link_is_refused(client, dora):
    ask(client)
    path = link_path()
    assert Client().post(path).status_code == 200
    again = Client().post(path)
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert AuditEvent.objects.filter(action="account_link.refused", reason="used").exists()


def test_a_link_sent_before_the_password_changed_is_refused(client, actor, dora):
    ask(client)
    user_password_set(actor=actor, user=dora, password="a new passphrase entirely 9")
    refused = Client().post(link_path())
    assert refused.status_code == 410 and "Your password changed" in refused.content.decode()
    dora.refresh_from_db()
    assert dora.email == "dora@example.com"


def test_an_expired_link_is_refused(client, dora):
    ask(client)
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().post(link_path()).status_code == 410
    dora.refresh_from_db()
    assert dora.email == "dora@example.com"


def test_a_newer_request_supersedes_the_pending_one(client, dora):
    ask(client)
    first = link_path()
    OutboundEmail.objects.all().delete()
    ask(client)
    assert Client().post(first).status_code == 410
    assert Client().post(link_path()).status_code == 200


def test_an_address_changed_by_an_admin_meanwhile_is_not_overwritten_by_the_pending_link(client, actor, dora):
    """An admin (or the management API) sets the address after the user asked for another one, e.g.
    to take a hijacked account back: the older request's link no longer works."""
    ask(client)
    pending = link_path()
    user_update(actor=actor, user=dora, email="dora.fixed@example.com", email_verified=True)

    assert Client().post(pending).status_code == 410
    dora.refresh_from_db()
    assert (dora.email, dora.email_verified) == ("dora.fixed@example.com", True)


def test_an_address_verified_on_another_account_gets_the_same_answer_and_no_email(client, dora):
    get_user_model().objects.create_user(username="nora", email=NEW, password=PASSWORD, email_verified=True)
    taken = ask(client)
    OutboundEmail.objects.all().delete()
    AccountLink.objects.all().delete()
    get_user_model().objects.filter(username="nora").update(email="nora@example.com")
    free = ask(client)

    assert taken.status_code == free.status_code == 200
    assert neutral(taken) == neutral(free)
    assert AuditEvent.objects.filter(action="account_link.withheld", reason="email verified elsewhere").exists()


def test_the_address_verified_elsewhere_by_confirmation_time_is_a_409_page(client, actor, dora):
    ask(client)
    nora = get_user_model().objects.create_user(username="nora", email=NEW, password=PASSWORD)
    user_update(actor=actor, user=nora, email_verified=True)

    refused = Client().post(link_path())

    assert refused.status_code == 409 and "already verified on another account" in refused.content.decode()
    dora.refresh_from_db()
    assert (dora.email, dora.email_verified) == ("dora@example.com", True)
    assert AccountLink.objects.get().used_at is None
    assert AuditEvent.objects.filter(action="account_link.refused", reason="email verified elsewhere").exists()


def test_each_step_is_audited(client, dora):
    ask(client)
    Client().post(link_path())
    actions = list(AuditEvent.objects.filter(target_id=str(dora.pk)).values_list("action", flat=True))
    assert {"account_link.issue", "user.update", "account_link.redeem"} <= set(actions)
    redeem = AuditEvent.objects.get(action="account_link.redeem")
    assert redeem.data["email"] == NEW and redeem.data["old_email"] == "dora@example.com"


def test_the_same_address_is_a_field_error(client, dora):
    same = ask(client, email="Dora@example.com")
    assert same.status_code == 400 and same.context["form"].errors["email"] == ["This is already your address."]


def test_requests_are_rate_limited_per_address(client, dora, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"account_email": "1/h"}}
    assert ask(client).status_code == 200
    refused = ask(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert OutboundEmail.objects.filter(to=[NEW]).count() == 1


def test_a_federated_user_reads_that_their_identity_provider_owns_the_address(client):
    corp = Connection.objects.create(name="corp", strategy=ConnectionStrategy.OIDC, display_name="Corp SSO")
    fed = get_user_model().objects.create_user(username="fed", email="fed@corp.example", connection=corp, password=None)
    client.force_login(fed)
    hub = client.get("/account/").content.decode()
    assert "comes from your identity provider (Corp SSO)" in hub and 'href="/account/email"' not in hub
    page = client.get("/account/email")
    assert page.status_code == 200 and "comes from your identity provider" in page.content.decode()
    assert ask(client).status_code == 200 and not AccountLink.objects.exists()
