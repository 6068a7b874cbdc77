"""The rough edges a newcomer hit, in a real Chromium at 1440 and 390 px: a landing page at ``/``, the
project's own 404 page (with DEBUG on too), the site's icon, the consent screen's boxes, the page
after a Decline and the authorized apps naming their API, grouped by organization."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.constants import AppType, GrantType, SubjectType, UserPolicy
from portal.partners.services.apps import partner_application_create
from portal.partners.services.partners import partner_create
from tests.e2e.console import WIDTHS, Console, overflow, too_wide
from tests.e2e.oauth_helpers import PASSWORD, oauth_client

pytestmark = pytest.mark.django_db(transaction=True)

DESTINATIONS = {
    "Console": "/admin/",
    "Partner portal": "/portal/",
    "Your authorized apps": "/account/apps",
    "Management API docs": "/api/v2/docs",
}


def icon_of(page) -> list:
    """What the browser gets at /favicon.ico from this page: status and type, after the redirect."""
    return page.evaluate("fetch('/favicon.ico').then(r => [r.status, r.headers.get('content-type')])")


# -- / : the landing page, and the admin's "View site" ---------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_landing_page_sends_each_visitor_on(console, width):
    page = console.open("/", width=width, username=None)
    page.get_by_role("heading", level=1).wait_for()
    for label, href in DESTINATIONS.items():
        link = page.get_by_role("link", name=label, exact=True)
        assert link.is_visible() and link.get_attribute("href") == href
    assert page.get_by_text("see which apps can act for you").is_visible()
    assert overflow(page) == 0 and too_wide(page) == []
    console.shoot(page, "landing", width)
    page.get_by_role("link", name="Partner portal", exact=True).click()
    page.wait_for_url("**/portal/")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admins_view_site_opens_the_landing_page(console, width):
    page = console.open("/admin/", width=width)
    view_site = page.get_by_role("link", name="View site")
    assert view_site.get_attribute("href") == "/"
    view_site.click()
    page.wait_for_url(console.live_server.url + "/")
    assert page.get_by_role("link", name="Console", exact=True).is_visible()
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/img/favicon.svg"
    # A page naming no icon (the admin's): the browser falls back to /favicon.ico, the site's icon.
    page.goto(console.live_server.url + "/admin/")
    status, content_type = icon_of(page)
    assert status == 200 and content_type in {"image/x-icon", "image/vnd.microsoft.icon"}


# -- 404: ours, with DEBUG on as with DEBUG off -----------------------------------------------------


@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
@pytest.mark.parametrize("width", WIDTHS)
def test_an_unknown_page_is_our_404(console, settings, width, debug):
    settings.DEBUG = debug
    page = console.open("/no-such-page", width=width, username=None)
    page.get_by_role("heading", name="Page not found").wait_for()
    assert page.get_by_text("There is no page at /no-such-page").is_visible()
    assert page.get_by_text("URLconf").count() == 0  # never Django's technical page listing our URLs
    assert overflow(page) == 0 and too_wide(page) == []
    if debug:
        console.shoot(page, "not-found", width)
    page.get_by_role("link", name="Go to the start page").click()
    page.get_by_role("link", name="Partner portal", exact=True).wait_for()


# -- the consent screen, the page after a Decline, the authorized apps -----------------------------

LONG_API = "https://orders.example.com/api/v2/tenants/acme-corporation-international/very-long-identifier/"
LONG_NAME = "Acme Order Synchronisation for Extraordinarily Long Warehouse Names"


LOGO_URI = "https://static.acme-partners.example/long-app.svg"
LOGO_FILE = Path(__file__).resolve().parents[2] / "static" / "img" / "favicon.svg"


@pytest.fixture
def visitor(live_server, chromium, artifacts):
    """A browser with nobody signed in, failing the test on any CSP violation (no demo tenant)."""
    console = Console(live_server=live_server, chromium=chromium, artifacts=artifacts)
    yield console
    console.close()
    assert console.csp_violations == [], console.csp_violations


@pytest.fixture
def long_app(actor, alice, make_api, make_grant, fake_app, visitor):
    """A partner's strict third-party app with a long name, on an API with a long identifier, and an
    https logo on its own host (the browser is handed the project's icon for it)."""
    visitor.served[LOGO_URI] = (LOGO_FILE, "image/svg+xml")
    api = make_api(
        identifier=LONG_API,
        name="Orders API",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Place orders for you")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )
    partner = partner_create(actor=actor, name="Acme Partners", owner=alice)
    issued = partner_application_create(
        actor=actor,
        partner=partner,
        name=LONG_NAME,
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[f"{fake_app}/callback"],
        logo_uri=LOGO_URI,
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    make_grant(api, client=issued.application, scope=["read:orders", "write:orders"], subject_type=SubjectType.USER)
    return issued.application, issued.client_secret


def consent_screen(visitor, long_app, width):
    app, secret = long_app
    client = oauth_client(app, secret, app.callbacks[0], "read:orders write:orders offline_access")
    url, _state = client.create_authorization_url("/authorize", code_verifier="v" * 64, audience=LONG_API)
    page = visitor.open(url, width=width, username=None)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Accept").wait_for()
    return page


def box(locator) -> dict:
    return locator.evaluate(
        "el => { const b = el.getBoundingClientRect(); return {top: b.top, left: b.left, "
        "right: b.right, bottom: b.bottom, width: b.width}; }"
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_consent_screens_boxes_fit_and_read_cleanly(visitor, long_app, width):
    page = consent_screen(visitor, long_app, width)
    api_box = page.get_by_role("group", name=re.compile("^Orders API"))
    account_box = page.get_by_role("group", name=re.compile("^Your account"))
    assert api_box.get_by_text(LONG_API).is_visible()
    # Both boxes as wide as each other, within the card: the long identifier wraps instead.
    assert abs(box(api_box)["width"] - box(account_box)["width"]) < 1
    assert box(api_box)["right"] <= box(page.locator("main.card"))["right"]
    # The title is the box's first line, inside its border: the border runs through no text.
    for group in (api_box, account_box):
        legend, fieldset = box(group.locator("legend")), box(group)
        assert legend["top"] >= fieldset["top"] + 1
    identifier = box(api_box.get_by_text(LONG_API))
    assert identifier["top"] >= box(api_box.locator("legend"))["bottom"] - 1  # on a line of its own
    assert identifier["right"] <= box(api_box)["right"]
    # A long app name wraps too.
    assert page.get_by_role("heading", name=f"Authorize {LONG_NAME}").is_visible()
    assert overflow(page) == 0 and too_wide(page) == []
    visitor.shoot(page, "consent", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_after_a_decline_the_page_says_what_happened_and_where_to_go(visitor, long_app, width):
    page = consent_screen(visitor, long_app, width)
    page.get_by_role("button", name="Decline").click()
    page.get_by_role("heading", name="No access given").wait_for()
    page.wait_for_load_state("load")  # its stylesheet applied, before reading colours from it
    said = page.get_by_text(f"You declined; {LONG_NAME} was not given access to your account.")
    assert said.is_visible()
    assert page.get_by_text("Something went wrong").count() == 0
    # Neutral, not an error in red.
    danger = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--danger').trim()")
    colors = said.evaluate("el => [getComputedStyle(el).color, getComputedStyle(document.querySelector('h1')).color]")
    assert all(color != "rgb(179, 38, 30)" for color in colors) and danger == "#b3261e"
    assert page.url.startswith(visitor.live_server.url)  # open redirect protection: never the callback
    assert overflow(page) == 0 and too_wide(page) == []
    visitor.shoot(page, "declined", width)
    page.get_by_role("link", name="Your authorized apps").click()
    page.wait_for_url("**/account/apps")
    assert page.get_by_text("You have not authorized any app.").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_authorized_apps_name_the_api(visitor, long_app, width):
    page = consent_screen(visitor, long_app, width)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/callback\?"))
    page.goto(f"{visitor.live_server.url}/account/apps")
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=LONG_NAME))
    assert item.locator(".api-name", has_text="Orders API").is_visible()
    assert item.locator(".identifier").inner_text() == LONG_API  # beside the name, small
    assert item.get_by_text("Read your orders").is_visible()
    assert overflow(page) == 0 and too_wide(page) == []
    visitor.shoot(page, "account-apps", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_authorized_apps_are_grouped_by_organization_and_revoked_in_one(visitor, long_app, make_organization, width):
    """A consent per organization, under its name; revoking one (htmx's confirmation) leaves the other."""
    app, _secret = long_app
    alice = get_user_model().objects.get(username="alice")
    organizations = [
        make_organization(name, display_name=display, third_party=True, members=[alice])
        for name, display in (("acme", "Acme Corporation International of Greater Springfield"), ("globex", "Globex"))
    ]
    for organization in organizations:
        user_grant_record(user=alice, client=app, audience=LONG_API, scopes=["read:orders"], organization=organization)
    page = visitor.open("/account/apps", width=width, username=None)
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account/apps")
    acme = page.get_by_role("region", name=f"In {organizations[0].display_name}")
    globex = page.get_by_role("region", name="In Globex")
    assert acme.get_by_role("heading", name=LONG_NAME).is_visible()
    assert globex.get_by_role("heading", name=LONG_NAME).is_visible()
    assert overflow(page) == 0 and too_wide(page) == []
    visitor.shoot(page, "account-apps-organizations", width)
    page.once("dialog", lambda dialog: dialog.accept())
    acme.get_by_role("button", name="Revoke").click()
    page.get_by_text(f"{LONG_NAME} no longer has access to your account in {organizations[0].display_name}.").wait_for()
    assert globex.get_by_role("heading", name=LONG_NAME).is_visible()
    assert list(UserGrant.objects.values_list("organization__name", flat=True)) == ["globex"]
