"""The partner portal's Organizations page, over HTTP.

Enforced: a partner sees the organizations that allow third-party apps (never one that blocks
them, not even its name), and for each of its own apps (never another partner's) whether it can be
used there, through which of the organization's enabled connections (domain level only) and with
which APIs and scopes; the organization's display name and logo are escaped; the page costs the
same number of queries for one organization and app as for many.
"""

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.constants import DATABASE_CONNECTION_NAME, DefaultFor, SubjectType, UserPolicy
from oauthcore.models import Connection
from oauthcore.services.applications import application_update
from oauthcore.services.connections import connection_create, connection_set_domain_level
from oauthcore.services.organizations import organization_members_add, organization_update
from portal.partners.services.apps import partner_app_create
from tests.oauthcore.flows import CHALLENGE

pytestmark = pytest.mark.django_db

LOGO = "https://cdn.example.com/initech.png?size=64&theme=dark"


@pytest.fixture
def connections(actor):
    """The database connection, domain level; and a second database connection that is not."""
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=database, is_domain_connection=True)
    staff = connection_create(actor=actor, name="staff-db", display_name="Staff only")
    return database, staff


@pytest.fixture
def apis(make_api):
    user_apis = {"user_policy": UserPolicy.REQUIRE_CLIENT_GRANT}
    orders = make_api(
        name="Orders API", scopes=[("read:orders", "Read orders"), ("write:orders", "Write orders")], **user_apis
    )
    billing = make_api(name="Billing API", scopes=[("read:billing", "Read invoices")], **user_apis)
    return orders, billing


@pytest.fixture
def world(acme, globex, apis, connections, make_grant, make_organization):
    """Acme's web app uses organizations and holds read:orders for users; Globex's web app holds
    read:billing. Initech allows third-party apps (both connections enabled), Umbrella blocks them."""
    orders, billing = apis
    database, staff = connections
    for org, api, scope in ((acme, orders, "read:orders"), (globex, billing, "read:billing")):
        application_update(actor=Actor.system("tests"), application=org.app, organization_usage="allow")
        make_grant(api, client=org.app, scope=[scope], subject_type=SubjectType.USER)
    initech = make_organization(
        "initech",
        display_name="Initech <b>Corp</b>",
        branding={"logo_url": LOGO},
        third_party=True,
        connections=[database, staff],
    )
    umbrella = make_organization("umbrella", display_name="Umbrella Secret Labs", connections=[database])
    return initech, umbrella


def page(client, org) -> str:
    response = client.get(reverse("portal:organizations", args=[org.partner.pk]))
    assert response.status_code == 200
    return response.content.decode()


def block(body: str, organization, app) -> str:
    """The part of the page about ``app`` in ``organization``."""
    start = body.index(f'id="org-{organization.pk}-{app.client_id}"')
    ends = [i for i in (body.find('class="organization-app"', start), body.find("</section>", start)) if i != -1]
    return body[start : min(ends)]


def test_the_portal_navigation_leads_to_the_organizations_page(client, acme):
    client.force_login(acme.developer)
    dashboard = client.get(reverse("portal:dashboard", args=[acme.partner.pk])).content.decode()
    url = reverse("portal:organizations", args=[acme.partner.pk])
    assert f'<a href="{url}">Organizations</a>' in dashboard
    assert f'<a href="{url}" aria-current="page">Organizations</a>' in page(client, acme)


def test_a_partner_sees_what_its_apps_reach_in_an_organization_that_allows_them(client, acme, world, connections):
    initech, _ = world
    database, _staff = connections
    client.force_login(acme.developer)
    body = page(client, acme)
    web = block(body, initech, acme.app)
    assert "Can sign members in" in web
    assert "<strong>Orders API</strong> <code>read:orders</code>" in web and "write:orders" not in web
    assert "through its own grant" in web
    # Through the domain-level connection only; the other is named, closed, with the reason.
    assert f'<span class="badge ok">open</span> {database.label}</li>' in web
    closed = '<span class="badge warn">closed</span> Staff only <span class="muted">{}</span>'
    assert closed.format("Organization login needs a domain-level connection") in web
    # Its machine-to-machine app acts for no user: not available, and why.
    sync = block(body, initech, acme.m2m)
    assert "Not available" in sync and "no access to any API for users" in sync


def test_an_app_that_does_not_use_organizations_is_not_available_there(client, acme, world):
    initech, _ = world
    application_update(actor=Actor.system("tests"), application=acme.app, organization_usage="deny")
    client.force_login(acme.owner)
    web = block(page(client, acme), initech, acme.app)
    assert "Not available" in web and "its organization usage is deny" in web
    assert "Orders API" not in web and "badge ok" not in web


def test_the_default_permissions_reach_an_organization_too(client, acme, world, make_api, make_grant):
    initech, _ = world
    catalog = make_api(
        name="Catalog API", scopes=[("read:catalog", "Read the catalog")], user_policy="require_client_grant"
    )
    make_grant(
        catalog, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:catalog"], subject_type=SubjectType.USER
    )
    client.force_login(acme.owner)
    web = block(page(client, acme), initech, acme.app)
    assert "<strong>Catalog API</strong> <code>read:catalog</code> <span>through the default permissions</span>" in web
    assert "<strong>Orders API</strong> <code>read:orders</code> <span>through its own grant</span>" in web


def test_an_organization_without_a_domain_level_connection_lets_no_app_in(client, acme, world, connections):
    initech, _ = world
    database, _staff = connections
    connection_set_domain_level(actor=Actor.system("tests"), connection=database, is_domain_connection=False)
    client.force_login(acme.owner)
    web = block(page(client, acme), initech, acme.app)
    assert "Not available" in web and "none is domain level" in web
    assert f'<span class="badge warn">closed</span> {database.label} ' in web


def test_an_organization_with_no_connection_yet_lets_no_app_in(client, acme, world, make_organization):
    hooli = make_organization("hooli", display_name="Hooli", third_party=True)
    client.force_login(acme.owner)
    web = block(page(client, acme), hooli, acme.app)
    assert "Not available" in web and "no connection its members can sign in through yet" in web
    assert "Orders API" in web  # the API is within reach once a connection is enabled


def test_never_another_partners_apps_nor_an_organization_that_blocks_third_party_apps(client, acme, globex, world):
    initech, umbrella = world
    client.force_login(acme.owner)
    body = page(client, acme)
    for hidden in (globex.app.name, globex.app.client_id, globex.m2m.client_id, "Billing API", "read:billing"):
        assert hidden not in body
    for hidden in (umbrella.name, umbrella.display_name, umbrella.pk):
        assert hidden not in body
    # Globex sees its own app there, and nothing of Acme's.
    client.force_login(globex.owner)
    theirs = page(client, globex)
    assert "read:billing" in block(theirs, initech, globex.app)
    assert acme.app.client_id not in theirs and "Orders API" not in theirs
    # Once Initech blocks third-party apps, it is gone from the page.
    organization_update(actor=Actor.system("tests"), organization=initech, third_party_client_access="block")
    assert "Initech" not in page(client, globex)
    assert "No organization lets third-party apps in yet." in page(client, globex)


def test_another_partners_organizations_page_is_not_found(client, acme, globex, world):
    client.force_login(acme.owner)
    assert client.get(reverse("portal:organizations", args=[globex.partner.pk])).status_code == 404


def test_the_organizations_name_and_logo_are_escaped(client, acme, world):
    client.force_login(acme.owner)
    body = page(client, acme)
    assert "Initech &lt;b&gt;Corp&lt;/b&gt;" in body and "<b>Corp</b>" not in body
    assert '<img class="logo" src="https://cdn.example.com/initech.png?size=64&amp;theme=dark" alt="">' in body


def test_a_logo_that_is_not_https_is_not_shown(client, acme, world):
    initech, _ = world
    # An older row (written before the https rule) holds a javascript: logo: it is never a src.
    type(initech).objects.filter(pk=initech.pk).update(branding={"logo_url": "javascript:alert(1)"})
    client.force_login(acme.owner)
    body = page(client, acme)
    assert "javascript:" not in body and "Initech &lt;b&gt;Corp&lt;/b&gt;" in body


def queries(client, org, django_assert_max_num_queries, limit=10) -> int:
    with django_assert_max_num_queries(limit) as captured:
        page(client, org)
    return len(captured.captured_queries)


def test_the_page_costs_the_same_for_one_organization_and_app_or_many(
    client, acme, world, apis, connections, make_grant, make_organization, django_assert_max_num_queries
):
    orders, billing = apis
    client.force_login(acme.owner)
    one = queries(client, acme, django_assert_max_num_queries)
    for n in range(4):
        app = partner_app_create(
            actor=Actor.user(acme.owner),
            partner=acme.partner,
            name=f"Acme Web {n}",
            app_type="regular_web",
            callbacks=[f"https://acme.example.com/cb{n}"],
        ).application
        application_update(actor=Actor.system("tests"), application=app, organization_usage="require")
        make_grant(orders, client=app, scope=["read:orders", "write:orders"], subject_type=SubjectType.USER)
        make_grant(billing, client=app, scope=["read:billing"], subject_type=SubjectType.USER)
        make_organization(
            f"customer-{n}", display_name=f"Customer {n}", third_party=True, connections=list(connections)
        )
    body = page(client, acme)
    assert body.count('class="organization-app"') == 5 * 6  # five organizations, six apps each
    assert body.count("Can sign members in") == 5 * 5  # every web app, in every organization
    assert queries(client, acme, django_assert_max_num_queries) == one


def authorize(client, app, organization, audience):
    """/authorize as the app sends it (PKCE S256, its own callback), naming ``organization``."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.callbacks[0],
        "audience": audience,
        "scope": "read:orders",
        "state": "s",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "organization": organization.id,
    }
    return client.get("/authorize?" + urlencode(query))


def test_what_the_page_says_is_what_authorize_does(client, acme, world, apis, connections, actor):
    """A member through the open connection gets the consent screen; through the closed one, and for
    an app the page says is not available, /authorize refuses the organization."""
    initech, _ = world
    orders, _billing = apis
    database, staff = connections
    member = get_user_model().objects.create_user(username="member", password=None, connection=database)
    insider = get_user_model().objects.create_user(username="insider", password=None, connection=staff)
    organization_members_add(actor=actor, organization=initech, users=[member, insider])
    client.force_login(member)
    screen = authorize(client, acme.app, initech, orders.identifier)
    assert screen.status_code == 200 and "Authorize Acme Web" in screen.content.decode()  # the consent screen
    client.force_login(insider)
    refused = authorize(client, acme.app, initech, orders.identifier)
    assert refused.status_code == 400 and f"parameter organization is invalid: {initech.id}" in refused.content.decode()
    application_update(actor=actor, application=acme.app, organization_usage="deny")
    client.force_login(acme.owner)
    assert "its organization usage is deny" in block(page(client, acme), initech, acme.app)
    client.force_login(member)
    refused = authorize(client, acme.app, initech, orders.identifier)
    assert (
        refused.status_code == 400
        and "parameter organization is not allowed for this client" in refused.content.decode()
    )
