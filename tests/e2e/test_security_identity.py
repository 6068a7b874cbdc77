"""Attacks on who an account is, over HTTP against the live server: claiming someone else's email
address, probing the sign-up form for existing accounts, and usernames that shadow an address."""

import io
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType
from oauthcore.models import AuditEvent
from oauthcore.services.applications import application_create
from portal.partners.forms import ACCOUNT_UNAVAILABLE
from portal.partners.models import Partner, PartnerMembership, Role
from portal.partners.services.invitations import invitation_create
from portal.partners.services.partners import partner_create
from tests.celery_worker import wait_for
from tests.e2e.oauth_helpers import CSRF_RE, PASSWORD, Browser, oauth_client, verify_jwt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "v" * 64
LINK_RE = re.compile(r"https?://\S+")
VICTIM = "victim@example.com"


@pytest.fixture
def own_app(actor, alice):
    """A first-party app: the one kind that gets ID tokens and /userinfo (``alice`` opens the connection)."""
    issued = application_create(actor=actor, name="Own App", app_type=AppType.REGULAR_WEB, callbacks=[CALLBACK])
    return issued.application, issued.client_secret


def submit(browser: Browser, path: str, data: dict) -> requests.Response:
    """Fill in and send the form at ``path`` as a person would (its CSRF token included)."""
    page = browser.session.get(browser.url(path))
    token = CSRF_RE.search(page.text).group(1)
    return browser.session.post(
        page.url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": page.url}, allow_redirects=False
    )


def sign_up(live_server, *, username: str, email: str = VICTIM, name: str = "Org") -> tuple[Browser, requests.Response]:
    browser = Browser(live_server.url)
    response = submit(
        browser,
        "/portal/signup",
        {"name": name, "website": "", "email": email, "username": username, "password": PASSWORD},
    )
    return browser, response


def confirmation_links(smtp, address: str, count: int) -> list[str]:
    """The confirmation links emailed to ``address``, oldest first, once ``count`` have arrived."""

    def arrived():
        found = [m for m in smtp.messages if address in m["To"] and m["Subject"].startswith("Confirm your email")]
        return found if len(found) >= count else None

    messages = wait_for(arrived, timeout=20, message=f"{count} confirmation emails to {address}")
    return [next(link for link in LINK_RE.findall(m.get_content()) if link.startswith(ISSUER)) for m in messages]


def open_link(browser: Browser, link: str) -> requests.Response:
    return browser.session.get(browser.url(urlsplit(link).path), allow_redirects=False)


def identity(live_server, app, secret, username: str) -> tuple[dict, dict]:
    """Log in at /login as ``username`` and sign in to the first-party app: its ID token's claims
    and /userinfo's answer."""
    browser = Browser(live_server.url)
    client = oauth_client(app, secret, CALLBACK, "openid profile email")
    url, _state = client.create_authorization_url(f"{live_server.url}/authorize", code_verifier=VERIFIER, nonce="n")
    outcome = browser.authorize(url, username=username)
    if outcome.kind == "consent":
        outcome = browser.answer_consent(outcome, accept=True)
    assert outcome.kind == "redirect", outcome.page_text
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=outcome.location, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["id_token"], app.client_id, ISSUER)
    info = requests.get(
        f"{live_server.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert info.status_code == 200
    return dict(claims), info.json()


def invitation_to(actor, email: str) -> str:
    """The token of an invitation to ``email`` from the owner of a confirmed partner."""
    owner = get_user_model().objects.create_user(username="boss", email="boss@example.com", password=PASSWORD)
    partner = partner_create(actor=actor, name="Real Co", owner=owner)
    membership = PartnerMembership.objects.get(partner=partner, user=owner)
    return invitation_create(actor=actor, by=membership, email=email, role=Role.DEVELOPER).token


def user(username: str):
    return get_user_model().objects.filter(username=username).first()


# -- 1. claiming someone else's address ----------------------------------------------------------------------


def test_an_unconfirmed_sign_up_logs_in_but_is_never_vouched_for(live_server, smtp, own_app):
    """The attack: sign up with the victim's address, never confirm, log in, and ask a first-party app
    who you are. Portcullis used to answer ``email_verified: true``."""
    _, response = sign_up(live_server, username="mallory")
    assert response.status_code == 302
    claims, info = identity(live_server, *own_app, username="mallory")
    assert claims["email"] == VICTIM and claims["email_verified"] is False
    assert info["email"] == VICTIM and info["email_verified"] is False


def test_the_owner_signs_up_while_a_claim_is_pending_and_the_first_confirmed_wins(live_server, smtp, own_app):
    sign_up(live_server, username="mallory")
    owner, response = sign_up(live_server, username="victim", name="Victim Co")
    assert response.status_code == 302  # the address was not locked away from its owner
    assert get_user_model().objects.filter(email__iexact=VICTIM).count() == 2

    mallory_link, owner_link = confirmation_links(smtp, VICTIM, 2)
    assert open_link(owner, owner_link).status_code == 200
    claims, info = identity(live_server, *own_app, username=VICTIM)  # the address logs in to its owner
    assert claims["sub"] == user("victim").user_id
    assert claims["email_verified"] is True and info["email_verified"] is True

    # The other claim is dropped, with its unconfirmed partner, and its link is dead.
    assert user("mallory") is None and not Partner.objects.filter(name="Org").exists()
    drop = AuditEvent.objects.get(action="user.email_claim_drop")
    assert drop.data["username"] == "mallory" and "confirmed the address first" in drop.reason
    assert open_link(Browser(live_server.url), mallory_link).status_code == 400
    assert Browser(live_server.url).login("mallory").status_code == 200  # the login form again: no account


def test_only_sign_up_claims_are_dropped(live_server, smtp, own_app):
    """An account the tenant made (admin, API) keeps existing, unverified, when someone else proves the address."""
    get_user_model().objects.create_user(username="carol", email=VICTIM, password=PASSWORD)
    carol = Browser(live_server.url)
    assert carol.login("carol").status_code == 302
    assert submit(carol, "/portal/signup", {"name": "Carol Co", "website": ""}).status_code == 302
    owner, _ = sign_up(live_server, username="victim", name="Victim Co")
    assert open_link(owner, confirmation_links(smtp, VICTIM, 2)[1]).status_code == 200
    assert user("carol") is not None and not user("carol").email_verified and user("victim").email_verified
    assert not AuditEvent.objects.filter(action="user.email_claim_drop").exists()


def test_a_claim_whose_link_lapsed_is_released_at_the_next_sign_up(live_server, smtp, own_app):
    sign_up(live_server, username="mallory")
    lapsed = timezone.now() - timedelta(days=portcullis_settings.PORTAL_VERIFICATION_DAYS, minutes=1)
    get_user_model().objects.filter(username="mallory").update(date_joined=lapsed)

    _, response = sign_up(live_server, username="victim", name="Victim Co")
    assert response.status_code == 302
    assert user("mallory") is None and list(get_user_model().objects.filter(email__iexact=VICTIM)) == [user("victim")]
    assert AuditEvent.objects.get(action="user.email_claim_drop").reason == "its confirmation link lapsed"


def test_a_confirmed_address_stays_its_owners(live_server, smtp, own_app):
    owner, _ = sign_up(live_server, username="victim", name="Victim Co")
    open_link(owner, confirmation_links(smtp, VICTIM, 1)[0])

    # A later claim is answered as any sign-up is, but never gets the address.
    _, response = sign_up(live_server, username="mallory")
    assert response.status_code == 302
    claims, _ = identity(live_server, *own_app, username="mallory")
    assert claims["email_verified"] is False
    assert identity(live_server, *own_app, username=VICTIM)[0]["sub"] == user("victim").user_id
    # Its link reaches the owner, who cannot give the address to the claim by opening it.
    refused = open_link(owner, confirmation_links(smtp, VICTIM, 2)[1])
    assert refused.status_code == 400 and "already confirmed on another account" in refused.text
    assert user("victim").email_verified and not user("mallory").email_verified


def test_an_accepted_invitation_verifies_the_address_and_drops_the_claims(live_server, smtp, own_app, actor):
    sign_up(live_server, username="mallory")
    token = invitation_to(actor, VICTIM)
    response = submit(
        Browser(live_server.url), f"/portal/invitations/{token}", {"username": "victim", "password": PASSWORD}
    )
    assert response.status_code == 302, response.text
    assert user("victim").email_verified and user("mallory") is None
    assert identity(live_server, *own_app, username="victim")[0]["email_verified"] is True


# -- 5. the sign-up form tells nobody who exists ----------------------------------------------------------------


def test_sign_up_counts_the_rate_limit_before_answering(live_server, settings):
    """Probing names used to be free: only a valid form was counted."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"signup": "2/h"}}
    get_user_model().objects.create_user(username="taken", email="taken@example.com", password=PASSWORD)
    for _ in range(2):
        assert sign_up(live_server, username="taken")[1].status_code == 400
    _, response = sign_up(live_server, username="taken")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in response.text
    assert ACCOUNT_UNAVAILABLE not in response.text  # refused before the names were looked at


def test_sign_up_does_not_say_whether_an_email_or_username_exists(live_server, smtp):
    get_user_model().objects.create_user(username="victim", email=VICTIM, password=PASSWORD)
    get_user_model().objects.create_user(username="boss@example.com", email="boss@example.com", password=PASSWORD)
    # An address in use is answered as a new one is (it used to say "An account with this email already exists").
    assert sign_up(live_server, username="newcomer")[1].status_code == 302
    assert sign_up(live_server, username="stranger", email="nobody@example.com")[1].status_code == 302
    # Whatever name is in the way (a taken username, an address that is another's username): one sentence,
    # pinned on no field.
    taken = sign_up(live_server, username="victim", email="fresh@example.com")[1]
    shadow = sign_up(live_server, username="fresh", email="boss@example.com")[1]
    for response in (taken, shadow):
        assert response.status_code == 400 and ACCOUNT_UNAVAILABLE in response.text
        assert "exists" not in response.text and "taken" not in response.text


# -- 7. usernames that shadow an address --------------------------------------------------------------------------


def test_a_username_cannot_be_someone_elses_email_address(live_server):
    _, response = sign_up(live_server, username=VICTIM, email="mallory@evil.example")
    assert response.status_code == 400
    assert "may contain @ only when it is your own email address" in response.text
    assert user(VICTIM) is None
    # The victim, signing up later, is the only account the address logs in to.
    get_user_model().objects.create_user(username="victim", email=VICTIM, password=PASSWORD)
    assert Browser(live_server.url).login(VICTIM).status_code == 302


def test_a_username_may_be_the_accounts_own_address(live_server, smtp):
    _, response = sign_up(live_server, username="mallory@evil.example", email="mallory@evil.example")
    assert response.status_code == 302 and user("mallory@evil.example").email == "mallory@evil.example"


def test_an_email_cannot_be_another_accounts_username(live_server):
    get_user_model().objects.create_user(username=VICTIM, email=VICTIM, password=PASSWORD)
    _, response = sign_up(live_server, username=VICTIM, email=VICTIM)
    assert response.status_code == 400 and ACCOUNT_UNAVAILABLE in response.text
    assert get_user_model().objects.filter(email__iexact=VICTIM).count() == 1


def test_invitation_sign_up_refuses_a_username_that_is_an_address(live_server, actor):
    token = invitation_to(actor, "new@example.com")
    response = submit(
        Browser(live_server.url), f"/portal/invitations/{token}", {"username": "boss@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400 and "may contain @ only" in response.text
    assert user("boss@example.com") is None


# -- the other ways an address gets verified, and the same username rules there ----------------------------------


@pytest.fixture
def management(live_server):
    """A bearer session on the management API, from the bootstrap client's client-credentials token."""
    out = io.StringIO()
    call_command("create_management_client", "--name", "Tests", stdout=out)
    bootstrap = json.loads(out.getvalue())
    session = OAuth2Session(
        client_id=bootstrap["client_id"],
        client_secret=bootstrap["client_secret"],
        token_endpoint_auth_method="client_secret_post",
    )
    token = session.fetch_token(
        f"{live_server.url}/oauth/token", grant_type="client_credentials", audience=bootstrap["audience"]
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    return api


def test_the_management_api_vouches_for_an_address_with_auth0s_field(live_server, management, own_app):
    body = {"connection": "Username-Password-Authentication", "password": PASSWORD}
    vouched = management.post(
        f"{live_server.url}/api/v2/users",
        json={**body, "email": "carol@example.com", "username": "carol", "email_verified": True},
    )
    assert vouched.status_code == 201, vouched.text
    assert vouched.json()["email_verified"] is True
    unsaid = management.post(f"{live_server.url}/api/v2/users", json={**body, "email": "dave@example.com"})
    assert unsaid.json()["email_verified"] is False
    assert identity(live_server, *own_app, username="carol")[0]["email_verified"] is True
    assert identity(live_server, *own_app, username="dave@example.com")[0]["email_verified"] is False

    # A username that is another account's address is refused here too.
    shadow = management.post(
        f"{live_server.url}/api/v2/users", json={**body, "email": "eve@example.com", "username": "carol@example.com"}
    )
    assert shadow.status_code == 400, shadow.text
    assert not get_user_model().objects.filter(email="eve@example.com").exists()


def test_an_admin_vouches_for_an_address_and_a_new_one_is_unverified(live_server, own_app):
    get_user_model().objects.create_superuser("root", "root@tenant.example", PASSWORD)
    carol = get_user_model().objects.create_user(username="carol", email="carol@example.com", password=PASSWORD)
    admin = Browser(live_server.url)
    assert submit(admin, "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}).status_code == 302
    change = f"/admin/oauthcore/user/{carol.pk}/change/"
    fields = {"username": "carol", "email": "carol@example.com", "is_active": "on", "_save": "Save"}
    assert submit(admin, change, {**fields, "email_verified": "on"}).status_code == 302
    assert identity(live_server, *own_app, username="carol")[0]["email_verified"] is True

    # Proof of one address says nothing about the next: the box, as the admin leaves it, decides.
    assert submit(admin, change, {**fields, "email": "carol@new.example", "email_verified": "on"}).status_code == 302
    carol.refresh_from_db()
    assert carol.email_verified  # said so with the new address
    assert submit(admin, change, {**fields, "email": "carol@other.example"}).status_code == 302
    carol.refresh_from_db()
    assert carol.email == "carol@other.example" and not carol.email_verified

    # The admin's add form refuses a username that is another account's address.
    add = submit(
        admin,
        "/admin/oauthcore/user/add/",
        {
            "username": "carol@other.example",
            "email": "mallory@evil.example",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "connection": carol.connection_id,
            "_save": "Save",
        },
    )
    assert add.status_code == 200 and "may contain @ only" in add.text
    assert not get_user_model().objects.filter(username="carol@other.example").exists()
