"""The admin's access simulator and access matrix, used as a tenant admin would: through HTTP.

Assertions are on what the page says (its text), not on the view's context.
"""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oauthcore.admin import simulator
from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, ConnectionStrategy, DefaultFor, SubjectType
from oauthcore.models import Application, ClientGrant, Connection, TenantSettings, User
from oauthcore.policy import DENIAL_REASONS
from oauthcore.services.client_grants import client_grant_update
from oauthcore.services.organizations import organization_client_grant_add, organization_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

SIMULATOR = "/admin/oauthcore/simulator/"
MATRIX = "/admin/oauthcore/access-matrix/"
MANAGEMENT_API = portcullis_settings.management_api_identifier
MY_ORGANIZATION_API = portcullis_settings.my_organization_api_identifier
MY_ACCOUNT_API = portcullis_settings.my_account_api_identifier
MFA_API = portcullis_settings.mfa_api_identifier
CLIENT_GRANT_MISSING = (
    "The API needs a client grant for this app and this kind of access, and the app has none "
    "(nor does a default grant for third-party apps cover it)."
)


# -- reading pages as text -------------------------------------------------------------------------------------


def text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: no tags, no entities, single spaces."""
    without_tags = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(html.unescape(without_tags).split())


def section(page: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(2)


def result_rows(response) -> dict[str, str]:
    """The simulation result's table: row heading -> cell text."""
    assert response.status_code == 200
    page = section(response.text, "simulation-result")
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td[^>]*>(.*?)</td>', page, re.S)
    return {text(label): text(value) for label, value in rows}


def outcome(response) -> str:
    match = re.search(r'<p class="outcome[^"]*">(.*?)</p>', response.text, re.S)
    assert match, "no outcome on the page"
    return text(match.group(1))


def trace(response) -> list[str]:
    return [text(line) for line in re.findall(r"<li[^>]*>(.*?)</li>", section(response.text, "trace"), re.S)]


def field_errors(response) -> dict[str, str]:
    """Field name -> the error text shown above it."""
    return {
        name: text(errors)
        for name, errors in re.findall(
            r'<div class="form-row field-(\w+) errors">\s*<ul class="errorlist"[^>]*>(.*?)</ul>', response.text, re.S
        )
    }


def simulate_page(client, application, audience, flow, scopes=""):
    app_id = application.pk if isinstance(application, Application) else application
    return client.get(SIMULATOR, {"application": app_id, "api": audience or "", "flow": flow, "scopes": scopes})


def matrix_cells(response) -> dict[tuple[str, str], tuple[str, str]]:
    """(app name, API name) -> (user line, client line), as the matrix shows them."""
    table = section(response.text, "access-matrix")
    head, body = table.split("</thead>")
    apis = [
        text(re.sub(r"<span.*?</span>", "", name, flags=re.S))
        for name in re.findall(r'<th scope="col">(.*?)</th>', head, re.S)
    ][1:]
    cells = {}
    for row in re.findall(r'<tr class="app-row">(.*?)</tr>', body, re.S):
        app = text(re.search(r'<th scope="row"><a [^>]*>(.*?)</a>', row, re.S).group(1))
        for api, cell in zip(apis, re.findall(r'<td class="cell">(.*?)</td>', row, re.S), strict=True):
            user, client = (text(line) for line in re.findall(r"<a [^>]*>(.*?)</a>", cell, re.S))
            cells[(app, api)] = (user, client)
    return cells


def header_html(response) -> str:
    return section(response.text, "access-matrix").split("</thead>")[0]


def matrix_links(response) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a class="line [^"]*" href="([^"]+)"', response.text)]


# -- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture
def strict_m2m(make_app):
    """A strict third-party machine-to-machine app (confidential, client credentials)."""
    return make_app(
        name="Partner robot", app_type=AppType.NON_INTERACTIVE, is_first_party=False, third_party_security_mode="strict"
    )


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        name="Orders",
        scopes=(("read:orders", "Read orders"), ("write:orders", "Write orders")),
    )


# -- the simulator -----------------------------------------------------------------------------------------


def test_a_strict_third_party_app_with_its_own_grant_gets_client_credentials(
    admin_client, strict_m2m, orders, make_grant
):
    grant = make_grant(orders, client=strict_m2m, scope=["read:orders"])

    response = simulate_page(admin_client, strict_m2m, orders.identifier, "client_credentials")

    assert outcome(response) == "✔ Allowed"
    rows = result_rows(response)
    assert rows["Effective scopes"] == "read:orders"
    assert rows["Requested scopes"] == "none (the request names no scope)"
    assert rows["API"] == "https://orders.example.com/"
    assert rows["The API's policies"] == (
        "User-delegated access: All apps allowed · client access: Per-app authorization"
    )
    assert rows["Application"] == f"Partner robot {strict_m2m.client_id} · Third party (strict)"
    assert rows["Consent"] == "Not asked"
    assert rows["ID token"] == "No"
    assert rows["Refresh token"] == "No"
    assert rows["Client grant applied"] == grant.id
    grant_link = reverse("admin:oauthcore_clientgrant_change", args=[grant.id.replace("_", "_5F")])
    assert f'href="{grant_link}"' in section(response.text, "simulation-result")
    assert admin_client.get(grant_link).status_code == 200


def test_asking_for_scopes_outside_the_grant_is_denied(admin_client, strict_m2m, orders, make_grant):
    make_grant(orders, client=strict_m2m, scope=["read:orders"])

    response = simulate_page(
        admin_client, strict_m2m, orders.identifier, "client_credentials", "read:orders write:orders"
    )

    assert outcome(response) == "✘ Denied by rule 5: Scopes within what the app may get"
    rows = result_rows(response)
    assert rows["What the app is told"] == (
        "Client has not been granted scopes: write:orders (OAuth error access_denied , HTTP 403)"
    )
    assert rows["Why"] == "The request asked for scopes that the app's client grant does not give."
    assert rows["Requested scopes"] == "read:orders write:orders"


def test_without_a_grant_client_credentials_are_denied(admin_client, strict_m2m, orders):
    response = simulate_page(admin_client, strict_m2m, orders.identifier, "client_credentials")

    assert outcome(response) == "✘ Denied by rule 4: The API's access policy"
    rows = result_rows(response)
    assert rows["What the app is told"] == (
        f'Client "{strict_m2m.client_id}" is not authorized to access resource server "https://orders.example.com/". '
        'You need to create a "client-grant" associated to this API. (OAuth error access_denied , HTTP 403)'
    )
    assert rows["Why"] == CLIENT_GRANT_MISSING
    assert rows["Client grant applied"] == "none"
    assert "Effective scopes" not in rows


def test_the_trace_lists_the_rules_in_order(admin_client, strict_m2m, orders, make_grant):
    grant = make_grant(orders, client=strict_m2m, scope=["read:orders"])

    allowed = simulate_page(admin_client, strict_m2m, orders.identifier, "client_credentials")
    denied = simulate_page(admin_client, strict_m2m, orders.identifier, "client_credentials", "write:orders")

    assert trace(allowed) == [
        "1. Grant type allowed — yes : Client credentials is one of the app's grant types",
        "2. API found — yes : the API https://orders.example.com/, asked for as the audience",
        "3. System APIs stay first-party — yes : not a system API",
        f"4. The API's access policy — yes : client access is “Per-app authorization”: the client's own grant"
        f" ({grant.id}) applies",
        "5. Scopes within what the app may get — yes : scopes given: read:orders",
    ]
    assert trace(denied)[-1] == (
        "5. Scopes within what the app may get — no : "
        "The request asked for scopes that the app's client grant does not give."
    )
    for page in (allowed, denied):
        assert "require_client_grant" not in page.text and "scopes_not_granted" not in page.text


def test_a_third_party_app_never_gets_the_management_api_for_a_user(admin_client, make_app):
    app = make_app(name="Partner web", is_first_party=False, third_party_security_mode="strict")

    response = simulate_page(admin_client, app, MANAGEMENT_API, "authorize", "read:users")

    sentence = "This is a system API of the tenant, and a third-party app never gets a system API."
    assert outcome(response) == "✘ Denied by rule 3: System APIs stay first-party"
    rows = result_rows(response)
    assert rows["Why"] == sentence
    assert rows["What the app is told"].startswith(
        f'Client "{app.client_id}" is not authorized to access resource server "{MANAGEMENT_API}".'
    )
    assert trace(response)[-1] == f"3. System APIs stay first-party — no : {sentence}"


def test_a_first_party_login_shows_consent_and_token_flags(admin_client, make_app, orders):
    app = make_app(name="Shop", callbacks=["http://localhost:3000/callback"])  # localhost: consent is asked

    response = simulate_page(admin_client, app, orders.identifier, "authorize", "openid read:orders offline_access")

    assert outcome(response) == "✔ Allowed"
    rows = result_rows(response)
    assert rows["Effective scopes"] == "openid read:orders"  # no refresh token: the API does not allow them
    assert rows["Consent"] == "Asked, for: openid read:orders"
    assert rows["ID token"] == "Yes"
    assert rows["Refresh token"] == "No"
    steps = trace(response)
    assert (
        "5. Scopes within what the app may get — yes : offline_access ignored: the API or the client does not allow "
        "refresh tokens"
    ) in steps
    assert [step.split(".")[0] for step in steps] == sorted((step.split(".")[0] for step in steps), key=int)


def test_no_api_means_the_tenant_default_audience(admin_client, make_app, orders):
    app = make_app(name="Shop")

    userinfo = simulate_page(admin_client, app, None, "authorize", "openid")
    assert outcome(userinfo) == "✔ Allowed"
    assert result_rows(userinfo)["API"] == "None: a token for the user's profile (/userinfo) only"

    settings = TenantSettings.load()
    settings.default_audience = orders.identifier
    settings.save()
    defaulted = simulate_page(admin_client, app, None, "authorize", "read:orders")

    assert outcome(defaulted) == "✔ Allowed"
    rows = result_rows(defaulted)
    assert rows["API"] == "https://orders.example.com/ (the tenant's default API; no API was chosen)"
    assert rows["Effective scopes"] == "read:orders"


@pytest.mark.parametrize("app_id", ["999999", "abc", "99999999999999999999999", "-1", "²"])
def test_an_unknown_application_is_a_field_error(admin_client, orders, app_id):
    response = simulate_page(admin_client, app_id, orders.identifier, "client_credentials")

    assert response.status_code == 200
    assert field_errors(response) == {"application": "No application with this id."}
    assert 'id="simulation-result"' not in response.text


def test_bad_api_flow_and_scopes_are_field_errors(admin_client, strict_m2m):
    response = admin_client.get(
        SIMULATOR,
        {"application": strict_m2m.pk, "api": "https://nowhere.example.com/", "flow": "password", "scopes": 'a "b"'},
    )

    assert response.status_code == 200
    errors = field_errors(response)
    assert errors["api"] == "No API with this identifier."
    assert errors["flow"].startswith("Select a valid choice.")
    assert errors["scopes"] == 'Not a valid scope: "b"'
    assert 'id="simulation-result"' not in response.text


def test_the_empty_simulator_and_a_prefilled_link_show_no_result(admin_client, make_app):
    app = make_app(name="Shop")

    empty = admin_client.get(SIMULATOR)
    prefilled = admin_client.get(SIMULATOR, {"application": app.pk})

    for response in (empty, prefilled):
        assert response.status_code == 200
        assert 'id="simulation-result"' not in response.text
        assert "errorlist" not in response.text
    assert f'<option value="{app.pk}" selected>Shop ({app.client_id})</option>' in prefilled.text
    assert 'value="authorize" selected' in prefilled.text
    # The application field searches as the admin's autocomplete does.
    found = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "oauthcore", "model_name": "clientgrant", "field_name": "client", "term": "sho"},
    )
    assert found.json()["results"] == [{"id": str(app.pk), "text": f"Shop ({app.client_id})"}]


def test_the_applications_pages_link_to_the_simulator_and_the_matrix(admin_client, make_app):
    app = make_app(name="Shop")

    changelist = admin_client.get(reverse("admin:oauthcore_application_changelist")).text
    change = admin_client.get(reverse("admin:oauthcore_application_change", args=[app.pk])).text

    assert f'<a href="{SIMULATOR}">Access simulator</a>' in changelist
    assert f'<a href="{MATRIX}">Access matrix</a>' in changelist
    assert f'<a href="{SIMULATOR}?application={app.pk}">Simulate access</a>' in change


@pytest.mark.parametrize("page", [SIMULATOR, MATRIX])
def test_only_staff_with_the_view_permission_may_use_the_pages(client, page):
    outsider = User.objects.create_user(username="outsider", password="pw")
    client.force_login(outsider)

    response = client.get(page)

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/?next=")

    staff = User.objects.create_user(username="staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(page).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_application", content_type__app_label="oauthcore"))
    assert client.get(page).status_code == 200


# -- the access matrix -------------------------------------------------------------------------------------------


@pytest.fixture
def tenant(make_app, make_grant, strict_m2m, orders):
    shop = make_app(name="Shop", grant_types=["authorization_code", "refresh_token", "client_credentials"])
    partner_web = make_app(name="Partner web", is_first_party=False, third_party_security_mode="permissive")
    make_grant(orders, client=shop, scope=["read:orders"])
    make_grant(orders, client=strict_m2m, scope=["read:orders", "write:orders"])
    make_grant(orders, default_for=DefaultFor.THIRD_PARTY_CLIENTS, subject_type=SubjectType.USER, scope=["read:orders"])
    return {"shop": shop, "partner_web": partner_web, "robot": strict_m2m}


def test_the_matrix_shows_every_app_and_what_it_would_get(admin_client, tenant):
    response = admin_client.get(MATRIX)

    assert response.status_code == 200
    cells = matrix_cells(response)
    assert sorted({app for app, _api in cells}) == ["Partner robot", "Partner web", "Shop"]
    header = text(section(response.text, "access-matrix").split("</thead>")[0])
    assert header.index("Portcullis Management API system") < header.index("Orders")  # system APIs first
    assert cells[("Shop", "Orders")] == ("user ✔ read:orders write:orders", "client ✔ read:orders")
    not_allowed = "✘ Grant type not allowed for this app"
    assert cells[("Partner web", "Orders")] == ("user ✔ read:orders write:orders", f"client {not_allowed}")
    assert cells[("Partner robot", "Orders")] == (f"user {not_allowed}", "client ✔ read:orders write:orders")
    assert cells[("Partner web", "Portcullis Management API")][0] == "user ✘ System API: not for third-party apps"
    assert cells[("Shop", "Portcullis Management API")] == ("user ✘ No client grant", "client ✘ No client grant")
    assert f'title="{html.escape(CLIENT_GRANT_MISSING)}"' in response.text
    policies = re.findall(r'<span class="policy">(.*?)</span>', header_html(response), re.S)
    assert policies[-2:] == ["user: All apps allowed", "client: Per-app authorization"]
    assert "allow_all" not in response.text and "require_client_grant" not in response.text
    row = re.search(r'<tr class="app-row">\s*<th scope="row">(.*?)</th>', response.text, re.S).group(1)
    assert text(row) == f"Partner robot {tenant['robot'].client_id} Third party (strict) · Machine to machine"


def test_each_matrix_line_opens_the_same_decision_in_the_simulator(admin_client, tenant):
    matrix = admin_client.get(MATRIX)
    cells = matrix_cells(matrix)
    links = matrix_links(matrix)
    assert len(links) == 2 * len(cells)

    for link in links:
        query = parse_qs(urlsplit(link).query, keep_blank_values=True)
        app = Application.objects.get(pk=query["application"][0])
        api_name = {
            "https://orders.example.com/": "Orders",
            MANAGEMENT_API: "Portcullis Management API",
            MY_ORGANIZATION_API: "Portcullis My Organization API",
            MY_ACCOUNT_API: "Portcullis My Account API",
            MFA_API: "Portcullis MFA API",
        }[query["api"][0]]
        user_line, client_line = cells[(app.name, api_name)]
        line = user_line if query["flow"] == ["authorize"] else client_line
        assert query["flow"][0] in {"authorize", "client_credentials"}

        shown = admin_client.get(link)

        if "✔" in line:
            assert outcome(shown) == "✔ Allowed", link
            assert line.endswith(result_rows(shown)["Effective scopes"])
        else:
            assert outcome(shown).startswith("✘ Denied"), link
            short = line.split("✘ ", 1)[1]
            assert any(
                short == denial.short and result_rows(shown)["Why"].startswith(denial.sentence)
                for denial in DENIAL_REASONS.values()
            ), (line, link)


def test_the_matrix_filters_and_pages(admin_client, tenant, monkeypatch):
    third_party = matrix_cells(admin_client.get(MATRIX, {"third_party": "1"}))
    by_name = matrix_cells(admin_client.get(MATRIX, {"q": "robot"}))
    by_client_id = matrix_cells(admin_client.get(MATRIX, {"q": tenant["shop"].client_id[:12]}))
    nothing = admin_client.get(MATRIX, {"q": "no such app"})

    assert {app for app, _ in third_party} == {"Partner robot", "Partner web"}
    assert {app for app, _ in by_name} == {"Partner robot"}
    assert {app for app, _ in by_client_id} == {"Shop"}
    assert "No application matches." in text(nothing.text)

    monkeypatch.setattr(simulator, "MATRIX_PAGE_SIZE", 2)
    first = admin_client.get(MATRIX)
    second = admin_client.get(MATRIX, {"page": "2"})
    beyond = admin_client.get(MATRIX, {"page": "junk"})

    assert {app for app, _ in matrix_cells(first)} == {"Partner robot", "Partner web"}
    assert {app for app, _ in matrix_cells(second)} == {"Shop"}
    assert "Applications 1\N{EN DASH}2 of 3 (page 1 of 2)" in text(first.text)
    assert "Applications 3\N{EN DASH}3 of 3 (page 2 of 2)" in text(second.text)
    assert 'href="?page=2"' in first.text
    assert beyond.status_code == 200
    assert {app for app, _ in matrix_cells(beyond)} == {"Partner robot", "Partner web"}


def populate(n_apps: int, n_apis: int, *, make_app, make_api, make_grant):
    apis = [make_api() for _ in range(n_apis)]
    first = Application.objects.count()
    for i in range(first, first + n_apps):
        app = make_app(
            name=f"App {i}",
            is_first_party=i % 2 == 0,
            third_party_security_mode="" if i % 2 == 0 else "strict",
            app_type=AppType.NON_INTERACTIVE,
        )
        for api in apis:
            make_grant(api, client=app, scope=["read:things"])


def test_the_matrix_does_not_query_per_app_or_api(
    admin_client, django_assert_max_num_queries, make_app, make_api, make_grant
):
    factories = {"make_app": make_app, "make_api": make_api, "make_grant": make_grant}
    populate(3, 1, **factories)
    admin_client.get(MATRIX)  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as few:
        assert admin_client.get(MATRIX).status_code == 200
    populate(9, 3, **factories)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(MATRIX)

    cells = matrix_cells(response)
    assert len({app for app, _ in cells}) == 12
    assert len({api for _, api in cells}) == 8  # the four system APIs and four others
    assert cells[("App 11", "API 4")] == ("user ✘ Grant type not allowed for this app", "client ✔ read:things")


def test_the_users_connection_is_rule_6_in_the_simulator(admin_client, make_app, orders, make_grant):
    """A third-party app and a connection that is not domain level; a first-party app and an
    enterprise connection not enabled for it: both denied by rule 6, with its words and trace."""
    partner = make_app(name="Partner", is_first_party=False, third_party_security_mode="strict")
    make_grant(orders, client=partner, scope=["read:orders"], subject_type=SubjectType.USER)
    closed = Connection.objects.create(name="partners-db")
    acme = Connection.objects.create(name="acme", strategy=ConnectionStrategy.OIDC, is_domain_connection=True)

    def simulate_with(app, connection):
        return admin_client.get(
            SIMULATOR,
            {
                "application": app.pk,
                "api": orders.identifier,
                "flow": "authorize",
                "scopes": "read:orders",
                "connection": connection.pk,
            },
        )

    denied = simulate_with(partner, closed)
    assert outcome(denied) == "✘ Denied by rule 6: Connections and organizations"
    assert DENIAL_REASONS["connection_not_domain_level"].sentence in denied.text
    assert outcome(simulate_with(partner, acme)) == "✔ Allowed"
    assert any(step.startswith("6.") for step in trace(simulate_with(partner, acme)))

    shop = make_app(name="Shop")
    assert DENIAL_REASONS["connection_not_enabled"].sentence in simulate_with(shop, acme).text
    acme.enabled_clients.add(shop)
    assert outcome(simulate_with(shop, acme)) == "✔ Allowed"
    # Client credentials have no user: the connection plays no part.
    assert "6." not in " ".join(
        trace(
            admin_client.get(
                SIMULATOR,
                {
                    "application": partner.pk,
                    "api": orders.identifier,
                    "flow": "client_credentials",
                    "connection": closed.pk,
                },
            )
        )
    )


# -- organizations -----------------------------------------------------------------------------------------------


@pytest.fixture
def org_partner(make_app, make_grant, orders):
    """A strict third-party app that uses organizations, with a user grant on Orders."""
    partner = make_app(
        name="Org partner", is_first_party=False, third_party_security_mode="strict", organization_usage="allow"
    )
    make_grant(orders, client=partner, scope=["read:orders"], subject_type=SubjectType.USER)
    return partner


def simulate_for_organization(client, app, orders, organization, connection=None, membership="member"):
    query = {
        "application": app.pk,
        "api": orders.identifier,
        "flow": "authorize",
        "scopes": "read:orders",
        "organization": organization.pk,
        "membership": membership,
    }
    if connection is not None:
        query["connection"] = connection.pk
    return client.get(SIMULATOR, query)


def test_rule_6_checks_the_organization_in_the_simulator(
    admin_client, actor, make_organization, make_app, make_grant, org_partner, orders
):
    """A third-party app and an organization that blocks third-party apps: denied by rule 6; allowed
    once the organization allows them, for a member signing in through a domain-level connection
    enabled for it. A connection not enabled for it, a user not a member, and an app whose
    organization usage is deny are refused by rule 6 too."""
    domain = Connection.objects.create(name="partners-db", is_domain_connection=True)
    other = Connection.objects.create(name="elsewhere", is_domain_connection=True)
    acme = make_organization("acme", display_name="Acme Corp", connections=[domain])

    blocked = simulate_for_organization(admin_client, org_partner, orders, acme, domain)

    assert outcome(blocked) == "✘ Denied by rule 6: Connections and organizations"
    assert result_rows(blocked)["Why"] == DENIAL_REASONS["organization_blocks_third_party"].sentence
    assert result_rows(blocked)["Organization"] == f"Acme Corp {acme.id} · third-party apps blocked"
    assert trace(blocked)[-1].startswith("6. Connections and organizations — no")

    organization_update(actor=actor, organization=acme, third_party_client_access="allow")
    allowed = simulate_for_organization(admin_client, org_partner, orders, acme, domain)

    assert outcome(allowed) == "✔ Allowed"
    assert (
        f"6. Connections and organizations — yes : the organization acme ({acme.id}): the user is a member and "
        "signs in through a connection enabled for it"
    ) in trace(allowed)
    not_enabled = simulate_for_organization(admin_client, org_partner, orders, acme, other)
    assert result_rows(not_enabled)["Why"] == DENIAL_REASONS["organization_connection_not_enabled"].sentence
    stranger = simulate_for_organization(admin_client, org_partner, orders, acme, domain, membership="not_member")
    assert result_rows(stranger)["Why"] == DENIAL_REASONS["organization_membership_missing"].sentence
    before_sign_in = simulate_for_organization(admin_client, org_partner, orders, acme)
    assert outcome(before_sign_in) == "✔ Allowed"
    no_organizations = make_app(name="Plain partner", is_first_party=False, third_party_security_mode="strict")
    make_grant(orders, client=no_organizations, scope=["read:orders"], subject_type=SubjectType.USER)
    refused = simulate_for_organization(admin_client, no_organizations, orders, acme, domain)
    assert result_rows(refused)["Why"] == DENIAL_REASONS["organization_not_allowed"].sentence


def test_an_unknown_organization_is_a_field_error_in_the_simulator(admin_client, org_partner, orders):
    response = admin_client.get(
        SIMULATOR, {"application": org_partner.pk, "api": orders.identifier, "flow": "authorize", "organization": "x"}
    )

    assert field_errors(response)["organization"] == "No organization with this id."
    assert 'id="simulation-result"' not in response.text


def test_the_matrix_for_an_organization(admin_client, actor, tenant, org_partner, make_organization, orders):
    """Filtered by an organization: an app whose organization usage is deny reaches nothing for it, a
    permissive app gets no organization flows, a third-party app needs the organization to allow
    third-party apps, and client access needs a grant the organization authorized."""
    acme = make_organization("acme", display_name="Acme Corp")
    robot_grant = ClientGrant.objects.get(client=tenant["robot"], resource_server=orders)
    client_grant_update(actor=actor, grant=robot_grant, organization_usage="allow")

    blocked = admin_client.get(MATRIX, {"organization": acme.pk})
    cells = matrix_cells(blocked)

    assert cells[("Shop", "Orders")] == (
        "user ✘ Organizations off for this app",
        "client ✘ Client grant allows no organization",
    )
    assert cells[("Partner web", "Orders")][0] == "user ✘ No organizations for permissive apps"
    assert cells[("Org partner", "Orders")][0] == "user ✘ Organization blocks third-party apps"
    assert cells[("Partner robot", "Orders")][1] == "client ✘ Organization has not authorized the grant"
    assert "For requests that name Acme Corp" in text(blocked.text)
    assert f'<option value="{acme.pk}" selected>' in blocked.text
    assert all(f"organization={acme.pk}" in link for link in matrix_links(blocked))

    organization_update(actor=actor, organization=acme, third_party_client_access="allow")
    organization_client_grant_add(actor=actor, organization=acme, grant=robot_grant)
    allowed = matrix_cells(admin_client.get(MATRIX, {"organization": acme.pk}))

    assert allowed[("Org partner", "Orders")][0] == "user ✔ read:orders"
    assert allowed[("Partner robot", "Orders")][1] == "client ✔ read:orders write:orders"
    assert allowed[("Shop", "Orders")][0] == "user ✘ Organizations off for this app"
    unfiltered = matrix_cells(admin_client.get(MATRIX))
    assert unfiltered[("Shop", "Orders")] == ("user ✔ read:orders write:orders", "client ✔ read:orders")


def test_each_organization_matrix_line_opens_the_same_decision_in_the_simulator(
    admin_client, tenant, org_partner, make_organization
):
    acme = make_organization("acme")
    matrix = admin_client.get(MATRIX, {"organization": acme.pk})
    cells = matrix_cells(matrix)

    for link in matrix_links(matrix):
        query = parse_qs(urlsplit(link).query, keep_blank_values=True)
        app = Application.objects.get(pk=query["application"][0])
        shown = admin_client.get(link)
        assert result_rows(shown)["Organization"].startswith(f"acme {acme.id}")
        if query["api"] == ["https://orders.example.com/"]:
            user_line, client_line = cells[(app.name, "Orders")]
            line = user_line if query["flow"] == ["authorize"] else client_line
            assert ("✔" in line) == (outcome(shown) == "✔ Allowed"), link


def test_an_unknown_organization_leaves_the_matrix_unfiltered(admin_client, tenant):
    response = admin_client.get(MATRIX, {"organization": "org_nosuch"})

    assert response.status_code == 200
    assert "No organization with this id" in text(section(response.text, "matrix-organization-error"))
    assert matrix_cells(response)[("Shop", "Orders")][0] == "user ✔ read:orders write:orders"


def test_the_organization_matrix_does_not_query_per_app_or_api(
    admin_client, django_assert_max_num_queries, make_app, make_api, make_grant, make_organization
):
    factories = {"make_app": make_app, "make_api": make_api, "make_grant": make_grant}
    acme = make_organization("acme", third_party=True)
    populate(3, 1, **factories)
    admin_client.get(MATRIX, {"organization": acme.pk})  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as few:
        assert admin_client.get(MATRIX, {"organization": acme.pk}).status_code == 200
    populate(9, 3, **factories)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(MATRIX, {"organization": acme.pk})

    assert len({app for app, _ in matrix_cells(response)}) == 12
