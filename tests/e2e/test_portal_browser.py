"""The partner portal as partners and tenant admins use it: a real Chromium on a live server, real
email over SMTP (sent by the real Celery worker when a broker is configured), real OAuth clients.

The walk of the issue's "done when": sign-up with email confirmation, inviting a member,
registering each app type, rotating a secret with a grace period (old and new secrets both get
tokens, then only the new one), requesting access and seeing it approved in the admin, then using
the new grant. Screenshots land in tests/e2e/artifacts/.
"""

import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.contrib.auth import get_user_model
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.constants import AppType, DefaultFor, SubjectType, UserPolicy
from oauthcore.models import Application, PreviousClientSecret
from oauthcore.services.client_grants import client_grant_create
from oauthcore.tasks import retire_previous_client_secrets
from portal.partners.models import AccessRequest, Partner, PartnerMembership, RequestStatus, Role
from portal.partners.services.access_requests import access_request_approve
from portal.partners.services.apps import partner_app_create
from portal.partners.services.partners import partner_create
from tests.celery_worker import wait_for
from tests.e2e.oauth_helpers import PASSWORD, oauth_client, verify_jwt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

ISSUER = "http://127.0.0.1:8000"
ORDERS = "https://orders.example.com/"
CATALOG = "https://catalog.example.com/"
LINK_RE = re.compile(r"https?://\S+")
VERIFIER = "v" * 64


@pytest.fixture
def tenant(make_api, actor):
    """Two APIs: Orders needs a grant per app; Catalog gives every third-party app read:catalog."""
    orders = make_api(
        identifier=ORDERS,
        name="Orders API",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Place orders for you")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )
    catalog = make_api(identifier=CATALOG, name="Catalog API", scopes=[("read:catalog", "Read the product catalog")])
    for subject in (SubjectType.CLIENT, SubjectType.USER):
        client_grant_create(
            actor=actor,
            audience=CATALOG,
            default_for=DefaultFor.THIRD_PARTY_CLIENTS,
            subject_type=subject,
            scope=["read:catalog"],
        )
    root = get_user_model().objects.create_superuser("root", "root@tenant.example", PASSWORD)
    return SimpleNamespace(orders=orders, catalog=catalog, root=root)


@pytest.fixture
def watch_csp(page):
    """Content Security Policy violations reported by the browser (there must be none)."""
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def on_live(live_server, link: str) -> str:
    """Emailed links point at the issuer; the browser opens the same path on the test server."""
    assert link.startswith(ISSUER + "/portal/") or link.startswith(ISSUER + "/admin/")
    return live_server.url + urlsplit(link).path


def email_to(smtp, address: str, subject_start: str):
    def arrived():
        return next((m for m in smtp.messages if address in m["To"] and m["Subject"].startswith(subject_start)), None)

    return wait_for(arrived, timeout=20, message=f"an email to {address}: {subject_start}…")


def link_of(message) -> str:
    """The link to this server in an email (other URLs, such as an API identifier, may come first)."""
    return next(link for link in LINK_RE.findall(message.get_content()) if link.startswith(ISSUER))


def log_in(page, live_server, username, password=PASSWORD, next_path="/portal/"):
    page.goto(f"{live_server.url}/login?next={next_path}")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def token_for(client_id, secret, live_server, audience, scope=None):
    client = oauth_client(SimpleNamespace(client_id=client_id), secret)
    params = {"audience": audience, **({"scope": scope} if scope else {})}
    return client.fetch_token(f"{live_server.url}/oauth/token", grant_type="client_credentials", **params)


def refused(client_id, secret, live_server, audience) -> str:
    with pytest.raises(OAuthError) as excinfo:
        token_for(client_id, secret, live_server, audience)
    return excinfo.value.error


# -- sign-up, confirmation, invitation ----------------------------------------------------------------------


def test_sign_up_confirm_the_email_and_invite_a_colleague(live_server, page, chromium, smtp, tenant, watch_csp):
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("link", name="Sign up your organization").click()
    page.get_by_label("Organization name").fill("Initech")
    page.get_by_label("Website").fill("https://initech.example")
    page.get_by_label("Work email").fill("peter@initech.example")
    page.get_by_label("Username").fill("peter")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Confirm your email").wait_for()
    assert page.locator("#main").get_by_text("peter@initech.example").is_visible()

    confirmation = email_to(smtp, "peter@initech.example", "Confirm your email for Initech")
    page.goto(on_live(live_server, link_of(confirmation)))
    page.get_by_role("heading", name="Email confirmed").wait_for()
    page.get_by_role("link", name="Continue to the portal").click()
    page.get_by_role("heading", name="Overview").wait_for()
    partner = Partner.objects.get(name="Initech")
    assert partner.email_verified_at is not None

    page.get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill("wanda@initech.example")
    page.get_by_label("Admin").check()
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to wanda@initech.example (admin).").wait_for()

    invitation = email_to(smtp, "wanda@initech.example", "peter invited you to Initech")
    colleague = chromium.new_context(viewport={"width": 1000, "height": 800})
    other = colleague.new_page()
    other.goto(on_live(live_server, link_of(invitation)))
    other.get_by_role("heading", name="Join Initech").wait_for()
    other.get_by_label("Username").fill("wanda")
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Create account and join").click()
    other.get_by_text("Welcome to Initech: you joined as admin.").wait_for()
    other.get_by_role("link", name="Team").click()
    members = other.get_by_role("table")
    assert (
        members.get_by_text("peter", exact=True).is_visible() and members.get_by_text("wanda", exact=True).is_visible()
    )
    wanda = get_user_model().objects.get(username="wanda")
    assert PartnerMembership.objects.get(partner=partner, user=wanda).role == Role.ADMIN
    # The link was for one use only.
    other.goto(on_live(live_server, link_of(invitation)))
    other.get_by_text("This invitation was already accepted.").wait_for()
    colleague.close()
    assert watch_csp == []


# -- apps, rotation, access request, approval, new grant ---------------------------------------------------------


@pytest.fixture
def acme_owner(tenant, actor):
    owner = get_user_model().objects.create_user("ada", "ada@acme.example", PASSWORD)
    partner = partner_create(actor=actor, name="Acme Partners", owner=owner, website="https://acme.example")
    return SimpleNamespace(user=owner, partner=partner)


def register(page, live_server, partner, *, name, app_type_label, callbacks=""):
    page.goto(f"{live_server.url}/portal/{partner.pk}/apps/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label(app_type_label).check()
    if callbacks:
        page.get_by_label("Callback URLs").fill(callbacks)
    page.get_by_role("button", name="Register app").click()
    page.get_by_role("heading", name=f"{name} is registered").wait_for()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#new-secret").inner_text() if page.locator("#new-secret").count() else None
    return client_id, secret


def register_web_app(page, live_server, partner, fake_app):
    return register(
        page,
        live_server,
        partner,
        name="Acme Web",
        app_type_label="Regular web application",
        callbacks=f"{fake_app}/callback",
    )


def masked_secrets(page) -> list[str]:
    """The secrets listed on the app page, as read on screen."""
    items = page.get_by_role("list", name="Client secrets").get_by_role("listitem").all_inner_texts()
    return [" ".join(item.split()) for item in items]


def test_apps_secret_rotation_and_an_approved_access_request(
    live_server, page, chromium, smtp, tenant, acme_owner, fake_app, artifacts, watch_csp
):
    partner = acme_owner.partner
    log_in(page, live_server, "ada")
    page.get_by_role("heading", name="Overview").wait_for()

    # Each app type. Confidential apps show their secret once; public ones have none.
    web_id, web_secret = register_web_app(page, live_server, partner, fake_app)
    spa_id, spa_secret = register(
        page,
        live_server,
        partner,
        name="Acme Dashboard",
        app_type_label="Single page application",
        callbacks="https://dashboard.acme.example/",
    )
    native_id, native_secret = register(
        page,
        live_server,
        partner,
        name="Acme Mobile",
        app_type_label="Native application",
        callbacks="com.acme.mobile:/callback",
    )
    sync_id, old_secret = register(page, live_server, partner, name="Acme Sync", app_type_label="Machine to machine")
    assert web_secret and old_secret and spa_secret is None and native_secret is None
    assert all(client_id.startswith("tpc_") for client_id in (web_id, spa_id, native_id, sync_id))
    assert list(Application.objects.filter(partner=partner).order_by("name").values_list("name", "app_type")) == [
        ("Acme Dashboard", "spa"),
        ("Acme Mobile", "native"),
        ("Acme Sync", "non_interactive"),
        ("Acme Web", "regular_web"),
    ]

    # The machine app gets tokens from the default permissions (Catalog API).
    assert token_for(sync_id, old_secret, live_server, CATALOG)["scope"] == "read:catalog"

    # Rotate with a 24-hour grace period: a new secret once, both masked entries with their expiry.
    page.get_by_role("link", name="Continue to the app").click()
    assert masked_secrets(page) == [f"••••{old_secret[-4:]} current never expires"]
    page.get_by_label("24 hours").check()
    page.get_by_role("button", name="Rotate secret").click()
    page.locator("#new-secret").wait_for()
    new_secret = page.locator("#new-secret").inner_text()
    assert new_secret != old_secret
    entries = masked_secrets(page)
    assert entries[0] == f"••••{new_secret[-4:]} current never expires"
    assert entries[1].startswith(f"••••{old_secret[-4:]} previous works until ") and "(in 1 day)" in entries[1]
    # The expiry note and its button wrap inside the list of secrets, not past its edge.
    secrets_list = page.get_by_role("list", name="Client secrets").bounding_box()
    end_now = page.get_by_role("button", name="End now").bounding_box()
    assert end_now["x"] + end_now["width"] <= secrets_list["x"] + secrets_list["width"] + 0.5, (end_now, secrets_list)
    page.screenshot(path=str(artifacts / "portal-app-page.png"), full_page=True)

    # During the grace period both secrets get tokens.
    assert token_for(sync_id, old_secret, live_server, CATALOG)["scope"] == "read:catalog"
    assert token_for(sync_id, new_secret, live_server, CATALOG)["scope"] == "read:catalog"

    # The grace period ends (its stored expiry moved into the past, standing for 24 hours passing):
    # the old secret is refused at once, even before the periodic task retires it...
    PreviousClientSecret.objects.filter(application__client_id=sync_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert PreviousClientSecret.objects.filter(application__client_id=sync_id).exists()
    assert refused(sync_id, old_secret, live_server, CATALOG) == "invalid_client"
    # ... and after the task, run by the worker, has deleted it; the new secret keeps working.
    retire_previous_client_secrets.delay()
    wait_for(lambda: not PreviousClientSecret.objects.filter(application__client_id=sync_id).exists())
    assert refused(sync_id, old_secret, live_server, CATALOG) == "invalid_client"
    assert token_for(sync_id, new_secret, live_server, CATALOG)["scope"] == "read:catalog"
    page.reload()
    assert masked_secrets(page) == [f"••••{new_secret[-4:]} current never expires"]

    # No access to the Orders API yet: ask for it.
    assert refused(sync_id, new_secret, live_server, ORDERS) == "access_denied"
    page.get_by_role("link", name="Request access").first.click()
    page.get_by_label("API", exact=True).select_option(label=f"Orders API ({ORDERS})")
    page.get_by_label("read:orders: Read your orders").wait_for()  # htmx brought the API's scopes
    page.get_by_label("Call the API as the app itself").check()
    page.get_by_label("read:orders: Read your orders").check()
    page.get_by_label("write:orders: Place orders for you").check()
    page.get_by_label("Justification").fill("Acme Sync copies each customer's orders into Acme's ERP every night.")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Request sent for Orders API.").wait_for()
    request = AccessRequest.objects.get()
    assert request.status == RequestStatus.PENDING and request.scope == ["read:orders", "write:orders"]

    # The tenant admin gets an email, opens the request in the admin and approves read:orders only.
    notice = email_to(smtp, "root@tenant.example", "Access request: Acme Sync (Acme Partners) asks for Orders API")
    assert "Acme Sync copies each customer's orders" in notice.get_content()
    admin_context = chromium.new_context(viewport={"width": 1200, "height": 900})
    admin = admin_context.new_page()
    admin.goto(on_live(live_server, link_of(notice)))  # the admin asks to log in first
    admin.get_by_label("Username").fill("root")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_label("write:orders").uncheck()
    admin.get_by_role("button", name="Approve").click()
    admin.get_by_text("Approved: Acme Sync").wait_for()
    admin_context.close()

    decided = email_to(smtp, "ada@acme.example", "Approved: Acme Sync access to Orders API")
    assert "Scopes granted: read:orders" in decided.get_content()
    page.goto(f"{live_server.url}/portal/{partner.pk}/requests")
    row = page.get_by_role("row").filter(has_text="Orders API")
    assert row.get_by_text("Approved").is_visible()

    # The new grant works at the token endpoint, as the partner's real client sees it.
    token = token_for(sync_id, new_secret, live_server, ORDERS)
    assert token["scope"] == "read:orders"
    claims = verify_jwt(live_server.url, token["access_token"], ORDERS, ISSUER)
    assert claims["client_id"] == sync_id and claims["sub"] == f"{sync_id}@clients"

    page.goto(f"{live_server.url}/portal/{partner.pk}/catalog")
    page.get_by_label("Show access for").select_option(label="Acme Sync (Machine to machine)")
    page.get_by_text("It can get tokens with read:orders (through its own grant).").wait_for()  # htmx swap
    assert "app=" in page.url
    page.screenshot(path=str(artifacts / "portal-catalog.png"), full_page=True)
    page.goto(f"{live_server.url}/portal/{partner.pk}/")
    page.get_by_role("heading", name="Overview").wait_for()
    page.screenshot(path=str(artifacts / "portal-dashboard.png"), full_page=True)
    assert watch_csp == []


def test_a_user_authorizes_the_partners_web_app_once_access_is_approved(
    live_server, page, smtp, tenant, acme_owner, fake_app, alice
):
    """User-delegated access: requested in the portal, approved, then a user consents."""
    partner = acme_owner.partner
    log_in(page, live_server, "ada")
    web_id, web_secret = register_web_app(page, live_server, partner, fake_app)
    page.goto(f"{live_server.url}/portal/{partner.pk}/apps/{web_id}/request-access")
    page.get_by_label("API", exact=True).select_option(label=f"Orders API ({ORDERS})")
    page.get_by_label("Act for users").check()
    page.get_by_label("read:orders: Read your orders").check()
    page.get_by_label("Justification").fill("Customers see their Acme orders in our web app.")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Request sent for Orders API.").wait_for()
    access_request_approve(actor=Actor.user(tenant.root), request=AccessRequest.objects.get(), decided_by=tenant.root)

    client = oauth_client(SimpleNamespace(client_id=web_id), web_secret, f"{fake_app}/callback", "read:orders")
    url, state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS
    )
    page.context.clear_cookies()
    page.goto(url)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Authorize Acme Web").wait_for()
    assert page.get_by_text("Built by Acme Partners").is_visible()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    assert f"state={state}" in page.url
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER
    )
    assert token["scope"] == "read:orders"
    assert verify_jwt(live_server.url, token["access_token"], ORDERS, ISSUER)["sub"] == alice.user_id


def test_field_errors_from_an_htmx_form_are_shown(live_server, page, chromium, tenant, acme_owner, watch_csp):
    """The rotate form is posted by htmx; a refused value comes back as a 400 with the panel and
    its field error, which the page must show (htmx leaves 4xx answers unswapped by default)."""
    owner, partner = acme_owner.user, acme_owner.partner
    issued = partner_app_create(
        actor=Actor.user(owner), partner=partner, name="Acme Sync", app_type=AppType.NON_INTERACTIVE
    )
    log_in(page, live_server, "ada", next_path=f"/portal/{partner.pk}/apps/{issued.application.client_id}/")
    page.get_by_role("heading", name="Acme Sync").wait_for()
    page.get_by_label("24 hours").check()
    page.evaluate("document.querySelector('input[name=grace]:checked').value = 'forever'")
    page.get_by_role("button", name="Rotate secret").click()
    page.locator("#credentials").get_by_text("Select a valid choice.").wait_for()
    assert masked_secrets(page) == [f"••••{issued.client_secret[-4:]} current never expires"]
    assert not watch_csp


def test_the_portal_works_without_javascript(live_server, chromium, tenant, acme_owner):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    partner = acme_owner.partner
    log_in(page, live_server, "ada")
    client_id, secret = register(page, live_server, partner, name="Acme Sync", app_type_label="Machine to machine")
    page.get_by_role("link", name="Continue to the app").click()
    page.get_by_label("1 hour").check()
    page.get_by_role("button", name="Rotate secret").click()  # a full page comes back, with the new secret
    new_secret = page.locator("#new-secret").inner_text()
    assert new_secret != secret and len(masked_secrets(page)) == 2
    token_for(client_id, secret, live_server, CATALOG)
    token_for(client_id, new_secret, live_server, CATALOG)

    page.get_by_role("link", name="Request access").first.click()
    page.get_by_label("API", exact=True).select_option(label=f"Orders API ({ORDERS})")
    page.get_by_role("button", name="Choose").click()  # without htmx, a plain GET form
    page.get_by_label("read:orders: Read your orders").check()
    page.get_by_label("Justification").fill("x")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Ensure this value has at least 20 characters (it has 1).").wait_for()  # a field error
    page.get_by_label("Justification").fill("Nightly order sync for shared customers.")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Request sent for Orders API.").wait_for()
    assert AccessRequest.objects.get().subject_type == SubjectType.CLIENT
    context.close()


def test_the_portal_is_readable_on_a_phone(live_server, chromium, tenant, acme_owner, artifacts, make_organization):
    make_organization(
        "initech-holdings-international",
        display_name="Initech Holdings International Incorporated of Greater Metropolitan Springfield",
        branding={"logo_url": "https://cdn.example.com/initech.png"},
        third_party=True,
    )
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    partner = acme_owner.partner
    log_in(page, live_server, "ada")
    client_id, _ = register(page, live_server, partner, name="Acme Sync", app_type_label="Machine to machine")
    for name, path in (
        ("dashboard", f"/portal/{partner.pk}/"),
        ("app-page", f"/portal/{partner.pk}/apps/{client_id}/"),
        ("catalog", f"/portal/{partner.pk}/catalog?app={client_id}"),
        ("organizations", f"/portal/{partner.pk}/organizations"),
    ):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        page.screenshot(path=str(artifacts / f"portal-{name}-phone.png"), full_page=True)
    context.close()
