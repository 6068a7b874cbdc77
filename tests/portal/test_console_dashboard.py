"""The console's home (/admin/): what waits for the admin, the getting-started checklist, recent
denials and token activity, each for the staff who may see it, at a fixed number of statements."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from oauthcore.activity import ActivityCount, add_token_activity
from oauthcore.audit import Actor
from oauthcore.constants import AppType, SubjectType
from oauthcore.models import Application, AuditEvent, ResourceServer
from oauthcore.policy import DENIAL_REASONS
from oauthcore.services.applications import application_create
from oauthcore.services.tenant import tenant_settings_update
from portal.partners.management.commands.seed_demo import CATALOG_API, ORDERS_API
from portal.partners.models import Partner, PartnerStatus
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.partners import partner_create
from tests.e2e.console import seed_demo

pytestmark = pytest.mark.django_db

TOKEN = "/oauth/token"


def text_of(response) -> str:
    """The page's words, as a person reads them: no tags, one space between words."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r" ([:.,)])", r"\1", words)


@pytest.fixture
def demo(client, tmp_path, fast_password_hashing):
    """The demo tenant, and the client signed in as its tenant admin; ``m2m`` holds its machine
    app's credentials for the token endpoint."""
    output = seed_demo(tmp_path)
    client.force_login(get_user_model().objects.get(username="admin"))
    found = re.search(r"Portcullis Demo Fulfilment Service: .*?client_id:\s+(\S+).*?client_secret: (\S+)", output, re.S)
    return {"grant_type": "client_credentials", "client_id": found.group(1), "client_secret": found.group(2)}


def ask_for_access(*, scope=("write:orders",)):
    return access_request_create(
        actor=Actor.system("tests"),
        partner=Partner.objects.get(name="Acme Partners"),
        client=Application.objects.get(name="Acme Order Sync"),
        resource_server=ResourceServer.objects.get(identifier=ORDERS_API),
        subject_type=SubjectType.USER,
        scope=list(scope),
        justification="Orders are written back.",
    )


def test_an_empty_tenant_sees_every_step_still_to_do(admin_client):
    response = admin_client.get("/admin/")
    page = text_of(response)
    assert "Getting started 0 of 5 done" in page
    assert page.count("To do") == 5 and "Done" not in page
    assert "No API of yours has scopes yet" in page
    assert "No connection is domain-level yet" in page
    assert "a third-party app gets nothing until it is granted access on its own" in page
    assert "Dynamic registration is off: apps are created only here and in the partner portal." in page
    assert "That is the default: nobody has chosen yet." in page
    assert "No partner yet" in page
    assert "No access request waits for a decision." in page and "No partner waits for approval." in page
    assert "No request has been denied yet." in page
    assert page.count("Nothing to draw yet") == 2
    # each open step links to where it is done
    html = response.content.decode()
    for name in ("oauthcore_resourceserver_add", "oauthcore_clientgrant_add", "portal_partner_add"):
        assert f'href="{reverse("admin:" + name)}"' in html
    assert f'href="{reverse("admin:oauthcore_tenantsettings_changelist")}"' in html
    assert f'href="{reverse("admin:oauthcore_connection_changelist")}"' in html
    # the app list is still there, below or beside the dashboard
    assert response.context["app_list"] and "Everything in the console" in page
    assert f'href="{reverse("admin:portal_accessrequest_changelist")}"' in html


def test_the_demo_tenant_has_its_steps_done(client, demo):
    page = text_of(client.get("/admin/"))
    assert "Getting started 4 of 5 done" in page
    assert "Orders API has scopes that apps can ask for." in page
    assert "Username-Password-Authentication is domain-level" in page
    assert "Every third-party app may ask for what you set on Catalog API." in page
    assert "Acme Partners is your first partner." in page
    assert "Dynamic registration is off" in page and "nobody has chosen yet" in page

    tenant_settings_update(actor=Actor.system("tests"), enable_dynamic_client_registration=True)
    page = text_of(client.get("/admin/"))
    assert "Getting started 5 of 5 done" in page and "To do" not in page
    assert "Dynamic registration is on: any app can register itself at /oidc/register" in page
    assert "nobody has chosen yet" not in page


def test_a_pending_access_request_and_a_waiting_partner_show_with_their_links(client, demo):
    request = ask_for_access()
    owner = get_user_model().objects.create_user(username="initech-owner", email="o@initech.example")
    waiting = partner_create(actor=Actor.system("tests"), name="Initech", owner=owner)
    waiting.status = PartnerStatus.PENDING
    waiting.save(update_fields=["status"])

    response = client.get("/admin/")
    page, html = text_of(response), response.content.decode()
    assert "1 access request waits for your decision (sent just now). Review the waiting access requests" in page
    assert "Acme Order Sync (Acme Partners) asks for write:orders on Orders API" in page
    assert f'href="{reverse("admin:portal_accessrequest_change", args=[request.pk])}"' in html
    assert f'href="{reverse("admin:portal_accessrequest_changelist")}?status__exact=pending"' in html
    assert "1 partner waits for your approval (signed up just now). Review the waiting partners" in page
    assert f'href="{reverse("admin:portal_partner_changelist")}?status__exact=pending"' in html

    # the links open the filtered lists
    listed = client.get(reverse("admin:portal_accessrequest_changelist"), {"status__exact": "pending"})
    assert list(listed.context["cl"].result_list) == [request]
    listed = client.get(reverse("admin:portal_partner_changelist"), {"status__exact": "pending"})
    assert list(listed.context["cl"].result_list) == [waiting]


def test_recent_denials_say_who_which_api_why_and_link_the_audit_entry(client, demo):
    assert client.post(TOKEN, {**demo, "audience": CATALOG_API}).status_code == 403
    assert client.post(TOKEN, {**demo, "audience": "https://nowhere.example.com/"}).status_code == 403
    response = client.get("/admin/")
    page, html = text_of(response), response.content.decode()
    events = list(AuditEvent.objects.filter(action="access.denied").order_by("-created_at", "-id"))
    m2m = Application.objects.get(client_id=demo["client_id"])
    assert "Portcullis Demo Fulfilment Service was refused access to Catalog API just now" in page
    assert "was refused access to https://nowhere.example.com/ (no such API)" in page
    assert page.index("https://nowhere.example.com/ (no such API)") < page.index("refused access to Catalog API")
    # The reason as the decision's sentence for the rule that refused, not the error text the client got.
    assert DENIAL_REASONS["client_grant_missing"].sentence in page
    assert "is not authorized to access resource server" not in page
    for event in events:
        assert f'href="{reverse("admin:oauthcore_auditevent_change", args=[event.pk])}"' in html
    assert f'href="{reverse("admin:oauthcore_application_change", args=[m2m.pk])}"' in html
    assert f'href="{reverse("admin:oauthcore_auditevent_changelist")}?action__exact=access.denied"' in html


@pytest.mark.django_db(transaction=True)  # with Redis, an issued token is counted once its request commits
def test_the_charts_draw_tokens_and_denials_by_api_and_by_app(client, demo):
    for _ in range(3):
        assert client.post(TOKEN, {**demo, "audience": ORDERS_API}).status_code == 200
    assert client.post(TOKEN, {**demo, "audience": CATALOG_API}).status_code == 403
    response = client.get("/admin/")
    page, html = text_of(response), response.content.decode()
    assert "By API: 3 tokens issued and 1 request denied in the last 14 days." in page
    assert "Orders API: 3 tokens issued, 0 requests denied" in page
    assert "Catalog API: 0 tokens issued, 1 request denied" in page
    assert "Portcullis Demo Fulfilment Service: 3 tokens issued, 1 request denied" in page
    assert html.count('<svg class="console-chart-svg"') == 2 and 'viewBox="0 0 400 200"' in html
    assert "<script" not in html.split('class="console-home-layout"')[1].split("Everything in the console")[0]
    today = timezone.localdate()
    day = f"{today:%a} {today.day} {today:%b}"
    assert f"<title>{day}, Orders API: 3 tokens issued</title>" in html  # each bar says what it stands for
    assert f"<title>{day}, Catalog API: 1 request denied</title>" in html
    assert 'fill="url(#by-api-stripes-1)"' in html  # the denial, striped in the Catalog API's colour


def test_staff_see_only_the_parts_they_may_view(client, demo):
    ask_for_access()
    staff = get_user_model().objects.create_user(username="reviewer", email="r@example.com", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_accessrequest"))
    client.force_login(staff)
    page = text_of(client.get("/admin/"))
    assert "1 access request waits for your decision" in page
    assert "partner waits" not in page and "Getting started" not in page
    assert "Recent denials" not in page and "Tokens issued and requests denied" not in page

    # Viewing partners adds their step (linked), and the others' steps without a page to link to.
    staff.user_permissions.add(Permission.objects.get(codename="view_partner"))
    staff = get_user_model().objects.get(pk=staff.pk)  # permissions are cached per user object
    client.force_login(staff)
    response = client.get("/admin/")
    page, html = text_of(response), response.content.decode()
    assert "No partner waits for approval." in page and "Getting started 4 of 5 done" in page
    assert "Acme Partners is your first partner. See your partners" in page
    assert f'href="{reverse("admin:portal_partner_changelist")}"' in html
    assert "Orders API has scopes that apps can ask for." in page and "See your APIs" not in page


def test_the_home_page_costs_the_same_with_50_apps_and_their_traffic(client, demo, django_assert_max_num_queries):
    ask_for_access()
    client.post(TOKEN, {**demo, "audience": ORDERS_API})
    client.post(TOKEN, {**demo, "audience": CATALOG_API})
    client.get("/admin/")
    with django_assert_max_num_queries(22) as demo_page:
        assert client.get("/admin/").status_code == 200

    budget = len(demo_page.captured_queries)  # now: the connection keeps only the latest statements

    actor = Actor.system("tests")
    counts = []
    for n in range(50):
        issued = application_create(actor=actor, name=f"App {n}", app_type=AppType.NON_INTERACTIVE)
        app = issued.application
        audience = (ORDERS_API, CATALOG_API)[n % 2]
        counts += [ActivityCount(app.client_id, audience, issued=n + 1, denied=n % 3) for _ in range(3)]
        if n % 5 == 0:  # no grant anywhere: denied, and in the audit log
            denied = {"grant_type": "client_credentials", "audience": ORDERS_API}
            denied.update(client_id=app.client_id, client_secret=issued.client_secret)
            assert client.post(TOKEN, denied).status_code == 403
    add_token_activity(counts)
    with django_assert_max_num_queries(budget):
        response = client.get("/admin/")
    page = text_of(response)
    assert "Other apps" in page and "App 49" in page  # the busiest apart, the rest together
