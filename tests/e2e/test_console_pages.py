"""The console's own pages as a tenant admin sees them in Chromium, at a desktop's and a phone's width:
nothing sticks out sideways, long identifiers wrap, policies and denials read in words, and an access
request shows what the app already holds beside what it asks."""

import re

import pytest

from oauthcore.audit import Actor
from oauthcore.models import Application, ClientGrant, ResourceServer
from oauthcore.services.resource_servers import resource_server_create
from portal.partners.models import AccessRequest, Partner, RequestStatus
from portal.partners.services.access_requests import access_request_approve, access_request_create
from tests.e2e.console import WIDTHS, fits

ORDERS_API = "https://api.demo.portcullis.test/orders/"
CATALOG_API = "https://api.demo.portcullis.test/catalog/"
RAW_POLICY_VALUES = ("allow_all", "require_client_grant", "deny_all")
# What may be wider than the window: boxes that scroll sideways on their own (Django admin's change list
# table, and on a phone a tabular inline; the access matrix), never the page.
OWN_SCROLL_BOXES = ".results, .results *, .access-matrix-wrap, .access-matrix-wrap *"
PHONE_SCROLL_BOXES = ".inline-group .tabular, .inline-group .tabular *"


def acme_order_sync() -> Application:
    return Application.objects.get(name="Acme Order Sync")


def sticking_out_selector(page) -> str:
    """Every element of the page, except those inside a box that scrolls on its own."""
    scrolling = OWN_SCROLL_BOXES
    if page.viewport_size["width"] < 1000:
        scrolling += ", " + PHONE_SCROLL_BOXES
    return f"#container *:not({scrolling})"


def assert_fits(page) -> None:
    fits(page, sticking_out_selector(page))


def pending_request(**overrides) -> AccessRequest:
    """A partner's request, made through the service the portal's request-access form uses."""
    application = acme_order_sync()
    partner = Partner.objects.get(name="Acme Partners")
    requester = partner.memberships.select_related("user").first().user
    arguments = {
        "actor": Actor.user(requester),
        "partner": partner,
        "client": application,
        "resource_server": ResourceServer.objects.get(identifier=ORDERS_API),
        "subject_type": "user",
        "scope": ["read:orders", "write:orders"],
        "justification": "Acme's tools also create orders for the customer.",
        "requested_by": requester,
        **overrides,
    }
    return access_request_create(**arguments)


# -- applications --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_application_list_fits_the_window(console, width):
    page = console.open("/admin/oauthcore/application/", width=width)

    assert page.get_by_role("link", name="Acme Order Sync").first.is_visible()
    console.shoot(page, "app-list", width)
    assert_fits(page)
    if width >= 1000:  # on a desktop the whole table is in view, no scrolling inside it either
        assert page.evaluate(
            "(() => { const r = document.querySelector('#result_list');"
            " return r.getBoundingClientRect().right <= window.innerWidth; })()"
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_an_application_page_with_its_grants_fits_the_window(console, width):
    application = acme_order_sync()
    page = console.open(f"/admin/oauthcore/application/{application.pk}/change/", width=width)

    assert page.locator(".field-client_id").inner_text().strip().endswith(application.client_id)
    inline = page.locator(".inline-group")
    assert inline.is_visible()
    assert "read:orders" in inline.locator("textarea").first.input_value()
    assert inline.locator("td.field-resource_server select option:checked").first.inner_text().startswith("Orders API")
    console.shoot(page, "app", width)
    assert_fits(page)


def test_a_long_application_name_and_callback_wrap_instead_of_widening_the_page(console):
    application = acme_order_sync()
    long_name = "Acme Order Synchronisation Service For Every Warehouse Of The Northern Hemisphere Region"
    long_callback = "https://callbacks.acme-partners.test/" + "x" * 180
    Application.objects.filter(pk=application.pk).update(name=long_name, redirect_uris=long_callback)
    for width in WIDTHS:
        change = console.open(f"/admin/oauthcore/application/{application.pk}/change/", width=width)
        assert change.locator("#id_redirect_uris").input_value() == long_callback
        assert_fits(change)
        listing = console.open("/admin/oauthcore/application/", width=width)
        assert listing.get_by_role("link", name=long_name).is_visible()
        if width >= 1000:
            assert_fits(listing)


def test_a_long_api_identifier_wraps_in_the_api_pages_and_the_matrix(console):
    long_identifier = "https://api.demo.portcullis.test/" + "warehouse-inventory-" * 8
    api = resource_server_create(
        actor=Actor.system(), identifier=long_identifier, name="Warehouse inventory", scopes=[("read:stock", "Read")]
    )
    for width in WIDTHS:
        for path in (
            "/admin/oauthcore/resourceserver/",
            f"/admin/oauthcore/resourceserver/{api.pk}/change/",
            "/admin/oauthcore/access-matrix/",
        ):
            page = console.open(path, width=width)
            assert page.get_by_text(long_identifier).first.is_visible(), path
            assert_fits(page)
            if width >= 1000 and "matrix" in path:
                wrap = "(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.access-matrix-wrap'))"
                assert page.evaluate(wrap)


# -- APIs and client grants -----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_an_api_page_names_its_policies_in_words(console, width):
    api = ResourceServer.objects.get(identifier=ORDERS_API)
    page = console.open(f"/admin/oauthcore/resourceserver/{api.pk}/change/", width=width)

    user_policy = page.locator("#id_user_policy option:checked").inner_text()
    assert user_policy == "Per-app authorization"
    console.shoot(page, "api", width)
    assert_fits(page)

    listing = console.open("/admin/oauthcore/resourceserver/", width=width)
    row = listing.locator("#result_list tr", has_text="Orders API").inner_text()
    assert "Per-app authorization" in row
    assert not any(value in listing.locator("#result_list").inner_text() for value in RAW_POLICY_VALUES)
    assert_fits(listing)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_client_grant_page_fits_the_window(console, width):
    grant = ClientGrant.objects.get(client=acme_order_sync(), resource_server_id=ORDERS_API)
    page = console.open(f"/admin/oauthcore/clientgrant/{grant.pk}/change/", width=width)

    assert "Acme Order Sync" in page.locator("#content").inner_text()
    console.shoot(page, "client-grant", width)
    assert_fits(page)


# -- the access simulator and the matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_denied_simulation_explains_itself_rule_by_rule(console, width):
    web = Application.objects.get(name="Portcullis Demo Web")  # first party, and no grant on the Orders API
    page = console.open(f"/admin/oauthcore/simulator/?application={web.pk}", width=width)

    page.select_option("#id_api", ORDERS_API)
    page.select_option("#id_flow", "authorize")
    page.fill("#id_scopes", "openid read:orders")
    page.get_by_role("button", name="Simulate").click()
    page.wait_for_load_state()

    result = page.locator("#simulation-result")
    sentence = "The API needs a client grant for this app and this kind of access, and the app has none"
    assert page.locator(".outcome").inner_text() == "✘ Denied by rule 4: The API's access policy"
    assert page.locator("#denial-reason").inner_text().startswith(sentence)
    steps = page.locator("#trace li").all_inner_texts()
    assert [step.split(" — ")[0] for step in steps] == [
        "1. Grant type allowed",
        "2. API found",
        "3. System APIs stay first-party",
        "4. The API's access policy",
    ]
    assert steps[0] == "1. Grant type allowed — yes: Authorization code is one of the app's grant types"
    assert steps[3].startswith(f"4. The API's access policy — no: {sentence}")
    assert "User-delegated access: Per-app authorization" in result.inner_text()
    shown = page.locator("#content").inner_text()
    assert not any(value in shown for value in (*RAW_POLICY_VALUES, "client_grant_missing", "decide"))
    console.shoot(page, "simulator", width)
    assert_fits(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_matrix_shows_policies_and_denials_in_words_and_fits(console, width):
    page = console.open("/admin/oauthcore/access-matrix/", width=width)

    header = page.locator("#access-matrix thead").inner_text()
    assert "user: Per-app authorization" in header and "user: All apps allowed" in header
    assert not any(value in page.locator("#content").inner_text() for value in RAW_POLICY_VALUES)
    row = page.locator("#access-matrix tr.app-row", has_text="Portcullis Demo Web").inner_text()
    assert "✘ No client grant" in row  # the Orders API asks for a grant, and the demo web app has none
    assert "client_grant_missing" not in row
    console.shoot(page, "matrix", width)
    assert_fits(page)
    client_id = page.locator("#access-matrix .app-meta code").first
    assert client_id.evaluate("e => getComputedStyle(e).overflowWrap") == "anywhere"
    if width >= 1000:  # on a desktop the whole matrix is in view, without scrolling inside its box
        assert page.evaluate("(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.access-matrix-wrap'))")


# -- access requests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_pending_request_shows_what_the_app_holds_beside_what_it_asks(console, width):
    access_request = pending_request()
    page = console.open(f"/admin/portal/accessrequest/{access_request.pk}/change/", width=width)
    console.shoot(page, "access-request", width)

    held = page.locator("#already-held")
    assert re.sub(r"\s+", " ", held.inner_text()).count("read:orders") == 1
    assert "Read your orders" in held.inner_text()
    asked = page.locator("#asked-for")
    assert "write:orders" in asked.inner_text() and "Create and change your orders" in asked.inner_text()
    assert asked.locator(".scope-chip.new", has_text="write:orders").count() == 1
    assert asked.locator(".scope-chip.held", has_text="read:orders").count() == 1
    assert "[" not in page.locator("#content").inner_text()  # no JSON lists
    assert page.get_by_role("button", name="Approve").is_visible()
    assert_fits(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_decided_request_is_read_only(console, width):
    access_request = pending_request()
    admin = console_admin()
    access_request_approve(
        actor=Actor.user(admin), request=access_request, decided_by=admin, scope=["write:orders"], reason="Fine."
    )
    access_request.refresh_from_db()
    assert access_request.status == RequestStatus.APPROVED

    page = console.open(f"/admin/portal/accessrequest/{access_request.pk}/change/", width=width)

    console.shoot(page, "access-request-decided", width)
    content = page.locator("#content")
    assert (
        page.locator("#content form input:not([type=hidden]), #content form textarea, #content form select").count()
        == 0
    )
    assert page.locator(".submit-row").count() == 0
    decision = page.locator("#decision-summary").inner_text()
    assert "Approved" in decision and "admin" in decision and "Fine." in decision
    assert "write:orders" in content.inner_text()
    assert_fits(page)


def console_admin():
    from oauthcore.models import User

    return User.objects.get(username="admin")
