"""The partner portal's forms and login in a real Chromium, at a 1440 px desktop and a 390 px phone: the
portal's own login, every error of a form at once, the scopes an app already has, a 7-day grace period
read right, and long names that wrap instead of making the page scroll sideways.

Screenshots (tests/e2e/artifacts/): portal-login, portal-password-help, portal-app-form-errors,
portal-request-access, portal-credentials, portal-long-names, each -desktop.png and -phone.png.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.constants import AppType, UserPolicy
from oauthcore.models import PreviousClientSecret
from oauthcore.validation import LOGO_URI_ERROR
from portal.partners.models import AccessRequest
from portal.partners.services.apps import partner_app_create
from portal.partners.services.partners import partner_create
from tests.e2e import test_portal_browser
from tests.e2e.console import WIDTHS, Console, fits, overflow, too_wide
from tests.e2e.oauth_helpers import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

# The portal's fixtures: the Orders and Catalog APIs, and Ada, owner of Acme Partners.
tenant = test_portal_browser.tenant
acme_owner = test_portal_browser.acme_owner
ORDERS = test_portal_browser.ORDERS


class PortalBrowser(Console):
    """Windows of one width, nobody signed in to start with; no page may break the Content Security Policy."""

    def open(self, path: str, *, width: int):
        return super().open(path, width=width, username=None)

    def signed_in(self, path: str, *, width: int, username: str = "ada"):
        """``path``, after signing in on the portal's own login page (where the portal sends a visitor)."""
        page = self.open(path, width=width)
        page.get_by_role("heading", name="Log in to the partner portal").wait_for()
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**{path}")
        return page


@pytest.fixture
def browser(chromium, live_server, artifacts):
    browser = PortalBrowser(live_server=live_server, chromium=chromium, artifacts=artifacts, mobile_below=500)
    yield browser
    browser.close()
    assert browser.csp_violations == [], browser.csp_violations


def m2m_app(acme_owner, name="Acme Sync"):
    return partner_app_create(
        actor=Actor.user(acme_owner.user), partner=acme_owner.partner, name=name, app_type=AppType.NON_INTERACTIVE
    )


# -- 9. the portal's own login --------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_portal_has_its_own_login_with_sign_up_and_password_help(browser, tenant, acme_owner, width):
    partner = acme_owner.partner
    page = browser.open(f"/portal/{partner.pk}/", width=width)
    assert "/portal/login?next=" in page.url  # where a partner page sends a visitor
    page.get_by_role("heading", name="Log in to the partner portal").wait_for()
    assert page.get_by_text("register their apps, get their credentials, request API access").is_visible()
    assert page.locator("header.topbar").is_visible()
    sign_up = page.get_by_role("link", name="Sign up your organization")
    assert sign_up.is_visible() and sign_up.get_attribute("href") == "/portal/signup"
    fits(page)
    browser.shoot(page, "portal-login", width)

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_role("heading", name="Forgot your password?").wait_for()
    assert page.get_by_text("The portal cannot email you a reset link yet.").is_visible()
    fits(page)
    browser.shoot(page, "portal-password-help", width)
    page.get_by_role("link", name="Back to log in").click()

    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Please enter a correct username and password.").wait_for()
    assert page.get_by_role("heading", name="Log in to the partner portal").is_visible()  # still the portal's
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Overview").wait_for()  # the partner's dashboard


# -- 8. every error at once, and logos ------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_an_app_form_shows_every_error_at_once(browser, tenant, acme_owner, width):
    partner = acme_owner.partner
    page = browser.signed_in(f"/portal/{partner.pk}/apps/new", width=width)
    page.get_by_label("Single page application").check()
    page.get_by_label("Logo URL").fill("http://acme.example/logo.png")
    page.get_by_label("Callback URLs").fill("http://acme.example/callback")
    page.get_by_label("Allowed origins (CORS)").fill("https://acme.example/app")
    page.get_by_role("button", name="Register app").click()
    page.get_by_text("This field is required.").wait_for()  # the name: the form's own check...
    for error in (  # ... and the app's own rules, in the same answer
        LOGO_URI_ERROR,
        "third-party applications must use https (http only for localhost).",
        "is not an origin: it has a path, query or fragment.",
    ):
        assert page.get_by_text(error).is_visible(), error
    assert page.locator(".field.has-error").count() == 4
    fits(page)
    browser.shoot(page, "portal-app-form-errors", width)

    page.get_by_label("Name", exact=True).fill("Acme Dashboard")
    page.get_by_label("Logo URL").fill("https://acme.example/logo.png")
    page.get_by_label("Callback URLs").fill("https://acme.example/callback")
    page.get_by_label("Allowed origins (CORS)").fill("https://acme.example")
    page.get_by_role("button", name="Register app").click()
    page.get_by_role("heading", name="Acme Dashboard is registered").wait_for()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_older_http_logo_is_no_broken_image(browser, tenant, acme_owner, width):
    issued = m2m_app(acme_owner)
    type(issued.application).objects.filter(pk=issued.application.pk).update(logo_uri="http://acme.example/logo.png")
    partner = acme_owner.partner
    page = browser.signed_in(f"/portal/{partner.pk}/", width=width)
    assert page.locator("img").count() == 0
    assert page.locator(".logo-placeholder").first.inner_text() == "A"  # the app's initial instead
    page.goto(f"{browser.live_server.url}/portal/{partner.pk}/apps/{issued.application.client_id}/edit")
    assert page.get_by_text("This logo is not shown anywhere: it is not an https URL.").is_visible()


# -- 8. requesting access: the scopes it already has ------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_request_form_marks_what_the_app_has_and_asks_for_a_scope(browser, tenant, acme_owner, make_grant, width):
    issued = m2m_app(acme_owner)
    make_grant(tenant.orders, client=issued.application, scope=["read:orders"])
    partner = acme_owner.partner
    path = f"/portal/{partner.pk}/apps/{issued.application.client_id}/request-access?api={tenant.orders.pk}"
    page = browser.signed_in(path, width=width)
    held = page.get_by_label("read:orders: Read your orders")
    assert held.is_checked() and held.is_disabled()
    assert page.locator("label.choice.held").get_by_text("granted").is_visible()
    new = page.get_by_label("write:orders: Place orders for you")
    assert not new.is_checked() and new.is_enabled()

    page.get_by_label("Justification").fill("Nightly order sync for shared customers.")
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Pick at least one scope.").wait_for()
    assert page.get_by_text("This field is required.").count() == 0
    assert page.get_by_label("read:orders: Read your orders").is_disabled()  # still marked after the error
    fits(page)
    browser.shoot(page, "portal-request-access", width)

    page.get_by_label("write:orders: Place orders for you").check()
    page.get_by_role("button", name="Send request").click()
    page.get_by_text("Request sent for Orders API.").wait_for()
    assert AccessRequest.objects.get().scope == ["write:orders"]


# -- 12. a 7-day grace period ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_seven_day_grace_period_reads_in_7_days(browser, tenant, acme_owner, width):
    issued = m2m_app(acme_owner)
    partner = acme_owner.partner
    page = browser.signed_in(f"/portal/{partner.pk}/apps/{issued.application.client_id}/", width=width)
    page.get_by_label("7 days").check()
    page.get_by_role("button", name="Rotate secret").click()
    page.locator("#new-secret").wait_for()
    note = page.locator(".secrets li").nth(1)
    assert "(in 7 days)" in note.inner_text() and "6 days" not in note.inner_text()
    expires = PreviousClientSecret.objects.get().expires_at
    when = note.locator("time")
    assert when.inner_text() == f"{expires:%-d %b %Y, %H:%M} UTC"
    assert when.get_attribute("title") == f"{expires:%A %-d %B %Y, %H:%M:%S} UTC"
    assert timezone.now() + timedelta(days=6, hours=23) < expires
    fits(page)
    browser.shoot(page, "portal-credentials", width)


# -- long names and identifiers wrap ----------------------------------------------------------------------------

LONG_PARTNER = "Acme Intercontinental Logistics and Supply Chain Partners Incorporated"
LONG_APP = "AcmeOrderSynchronisationServiceForTheEuropeanWarehousesProductionEnvironment"
LONG_CALLBACK = "https://orders-synchronisation.europe-west.production.acme-intercontinental.example/oauth/callback"
LONG_API = "https://warehouse-inventory-and-fulfilment.europe-west.internal-apis.acme-intercontinental.example/v2/"


@pytest.mark.parametrize("width", WIDTHS)
def test_long_names_and_identifiers_wrap_on_every_page(browser, tenant, acme_owner, actor, make_api, make_grant, width):
    owner = acme_owner.user
    partner = partner_create(actor=actor, name=LONG_PARTNER, owner=owner, website="https://acme.example")
    api = make_api(
        identifier=LONG_API,
        name="Warehouse Inventory and Fulfilment Management API for European Operations",
        scopes=[("read:warehouse-inventory-levels-and-reservations", "Read stock levels and reservations")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )
    web = partner_app_create(
        actor=Actor.user(owner),
        partner=partner,
        name=LONG_APP,
        app_type=AppType.REGULAR_WEB,
        description="Keeps every European warehouse's orders in sync with the shop.",
        callbacks=[LONG_CALLBACK],
        allowed_origins=["https://orders-synchronisation.europe-west.production.acme-intercontinental.example"],
    ).application
    m2m = partner_app_create(
        actor=Actor.user(owner), partner=partner, name=LONG_APP + "Sync", app_type=AppType.NON_INTERACTIVE
    )
    make_grant(api, client=m2m.application, scope=["read:warehouse-inventory-levels-and-reservations"])
    page = browser.signed_in(f"/portal/{partner.pk}/", width=width)  # Ada belongs to two partners now
    pages = {
        "dashboard": f"/portal/{partner.pk}/",
        "app": f"/portal/{partner.pk}/apps/{web.client_id}/",
        "m2m-app": f"/portal/{partner.pk}/apps/{m2m.application.client_id}/",
        "edit": f"/portal/{partner.pk}/apps/{web.client_id}/edit",
        "catalog": f"/portal/{partner.pk}/catalog?app={m2m.application.client_id}",
        "request-access": f"/portal/{partner.pk}/apps/{web.client_id}/request-access?api={api.pk}",
        "requests": f"/portal/{partner.pk}/requests",
        "team": f"/portal/{partner.pk}/team",
        "settings": f"/portal/{partner.pk}/settings",
        "choose": "/portal/",
    }
    for name, path in pages.items():
        page.goto(browser.live_server.url + path)
        assert overflow(page) == 0, (name, too_wide(page))
        assert too_wide(page) == [], name
        if name == "app":
            assert page.get_by_role("heading", name=LONG_APP).is_visible()
            assert page.get_by_text(LONG_CALLBACK).is_visible()
            browser.shoot(page, "portal-long-names", width)
    page.goto(browser.live_server.url + pages["catalog"])
    assert page.get_by_text(LONG_API).is_visible()
