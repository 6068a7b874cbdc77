"""The console's home in Chromium: what waits for the admin, the getting-started checklist, the
latest denials and the token activity charts, at a desktop's and a phone's width.

The activity is real: tokens asked for over HTTP at the live server's /oauth/token by the demo's
machine-to-machine app, one of them for an API it may not call (a denial).
"""

import re

import pytest
import requests

from oauthcore.audit import Actor
from oauthcore.constants import SubjectType
from oauthcore.models import Application, ResourceServer
from oauthcore.policy import DENIAL_REASONS
from portal.partners.management.commands.seed_demo import CATALOG_API, ORDERS_API
from portal.partners.models import Partner
from portal.partners.services.access_requests import access_request_create
from tests.e2e.console import WIDTHS, overflow, too_wide

pytestmark = pytest.mark.django_db(transaction=True)


def demo_m2m_credentials(seed_output: str) -> tuple[str, str]:
    """The machine-to-machine app's client id and secret, as seed_demo prints them."""
    found = re.search(
        r"Portcullis Demo Fulfilment Service: .*?client_id:\s+(\S+).*?client_secret: (\S+)", seed_output, re.S
    )
    assert found, seed_output
    return found.group(1), found.group(2)


@pytest.fixture
def activity(live_server, demo_tenant):
    """Four tokens for the Orders API and one request refused (the Catalog API grants this app nothing)."""
    client_id, secret = demo_m2m_credentials(demo_tenant)
    token_url = f"{live_server.url}/oauth/token"

    def ask(audience: str) -> int:
        body = {"grant_type": "client_credentials", "audience": audience}
        return requests.post(token_url, data=body, auth=(client_id, secret), timeout=10).status_code

    assert [ask(ORDERS_API) for _ in range(4)] == [200] * 4
    assert ask(CATALOG_API) == 403


@pytest.fixture
def pending_request(demo_tenant):
    """Acme asks for write:orders for its Order Sync app."""
    partner = Partner.objects.get(name="Acme Partners")
    return access_request_create(
        actor=Actor.system("tests"),
        partner=partner,
        client=Application.objects.get(name="Acme Order Sync"),
        resource_server=ResourceServer.objects.get(identifier=ORDERS_API),
        subject_type=SubjectType.USER,
        scope=["write:orders"],
        justification="Orders are written back from Acme's tools.",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_shows_what_waits_the_checklist_the_denials_and_the_charts(
    console, activity, pending_request, width
):
    page = console.open("/admin/", width=width)

    waiting = page.locator("section", has=page.get_by_role("heading", name="Waiting for you"))
    assert "1 access request waits for your decision" in waiting.inner_text()
    assert "No partner waits for approval" in waiting.inner_text()

    steps = page.locator("section", has=page.get_by_role("heading", name="Getting started"))
    assert "4 of 5 done" in steps.inner_text()
    assert "Dynamic registration is off" in steps.inner_text()

    denials = page.locator("section", has=page.get_by_role("heading", name="Recent denials"))
    assert "Portcullis Demo Fulfilment Service was refused access to Catalog API" in denials.inner_text()
    # The reason in words: the decision's sentence for the rule that refused, not the client's error text.
    assert DENIAL_REASONS["client_grant_missing"].sentence in denials.inner_text()

    charts = page.locator("figure.console-chart")
    assert charts.count() == 2
    by_api, by_app = charts.nth(0), charts.nth(1)
    assert "4 tokens issued and 1 request denied in the last 14 days" in by_api.inner_text()
    assert "Orders API: 4 tokens issued, 0 requests denied" in by_api.locator(".console-legend").inner_text()
    assert "Portcullis Demo Fulfilment Service" in by_app.locator(".console-legend").inner_text()
    bars = by_api.locator("svg rect[x]")
    assert bars.count() == 2  # today's issued bar (Orders API) and denied bar (Catalog API)
    tallest = max(bars.nth(n).bounding_box()["height"] for n in range(bars.count()))
    assert tallest > 20  # drawn to scale, visible at this width

    # The app list stays on the page, beside or below the dashboard.
    assert page.locator("#content-main .app-portal").is_visible()
    assert overflow(page) == 0 and too_wide(page) == []
    console.shoot(page, "dashboard", width)

    # The numbers behind the bars, for whoever would rather read them: they fit too.
    by_api.get_by_text("Day by day, in numbers").click()
    today = by_api.locator("tbody tr").last
    assert today.is_visible() and today.locator("td").all_inner_texts() == ["4", "1"]
    assert overflow(page) == 0


def follow(page, name) -> None:
    page.get_by_role("link", name=name).click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_links_lead_to_what_waits_and_where_each_step_is_taken(console, activity, pending_request, width):
    page = console.open("/admin/", width=width)
    follow(page, "Review the waiting access requests")
    assert "status__exact=pending" in page.url
    assert page.locator("#result_list").get_by_text("Acme Order Sync").is_visible()

    page.go_back()
    follow(page, re.compile(r"Acme Order Sync \(Acme Partners\) asks for write:orders"))
    assert page.url.endswith(f"/admin/portal/accessrequest/{pending_request.pk}/change/")
    assert overflow(page) == 0

    page.go_back()
    follow(page, "Open the tenant settings")
    assert page.get_by_label("Enable dynamic client registration").is_visible()

    page.go_back()
    follow(page, "See why, rule by rule")
    assert re.search(r"/admin/oauthcore/auditevent/\d+/change/$", page.url)
    assert "access.denied" in page.locator("#content").inner_text()
    assert overflow(page) == 0
