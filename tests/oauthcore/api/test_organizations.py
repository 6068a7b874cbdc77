"""Organizations in the management API: Auth0's shapes and paths, paging, scopes, errors, and every
write through the organization services (audited, and revoking what it takes away)."""

import secrets
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import set_token_value

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, SubjectType
from oauthcore.models import (
    AccessToken,
    AuditEvent,
    Connection,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    TenantSettings,
)
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db

SCOPES = [
    f"{action}:{resource}"
    for resource, actions in {
        "organizations": "read create update delete",
        "organization_members": "read create delete",
        "organization_connections": "read create update delete",
        "organization_client_grants": "read create delete",
        "clients": "read create update",
        "tenant_settings": "read update",
    }.items()
    for action in actions.split()
]


@pytest.fixture
def admin(api):
    return api(*SCOPES)


@pytest.fixture
def database():
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


def make_users(*names):
    return [
        get_user_model().objects.create_user(username=name, email=f"{name}@example.com", password=None)
        for name in names
    ]


def user_token(application, user, organization) -> AccessToken:
    """An access token the user holds for the organization, stored as the token endpoint stores it."""
    token = AccessToken(
        application=application,
        user=user,
        organization=organization,
        scope="openid",
        expires=timezone.now() + timedelta(hours=1),
    )
    set_token_value(token, secrets.token_urlsafe(32))
    token.save()
    return token


@pytest.fixture
def machine_grant(make_app, make_api, make_grant):
    """A machine-to-machine app's own client grant on an Orders API."""
    app = make_app(name="Billing sync", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    orders = make_api(identifier="https://orders.example.com/", scopes=[("read:orders", "Read orders")])
    return make_grant(orders, client=app, scope=["read:orders"])


# -- organizations --------------------------------------------------------------------------------


def test_organization_create_read_update_delete_in_auth0_shapes_audited_as_the_calling_client(admin, caller):
    created = admin.post(
        "/api/v2/organizations",
        {
            "name": "acme",
            "display_name": "Acme Corp",
            "branding": {
                "logo_url": "https://acme.example.com/logo.png",
                "colors": {"primary": "#0059d6", "page_background": "#ffffff"},
            },
            "metadata": {"plan": "enterprise"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"].startswith("org_")
    assert body == {
        "id": body["id"],
        "name": "acme",
        "display_name": "Acme Corp",
        "branding": {
            "logo_url": "https://acme.example.com/logo.png",
            "colors": {"primary": "#0059d6", "page_background": "#ffffff"},
        },
        "metadata": {"plan": "enterprise"},
        "third_party_client_access": "block",
    }
    assert admin.get(f"/api/v2/organizations/{body['id']}").json() == body
    assert admin.get("/api/v2/organizations/name/acme").json() == body

    updated = admin.patch(
        f"/api/v2/organizations/{body['id']}",
        {"display_name": "Acme", "third_party_client_access": "allow", "branding": None},
        format="json",
    )
    assert updated.status_code == 200, updated.json()
    assert updated.json()["third_party_client_access"] == "allow" and "branding" not in updated.json()
    assert Organization.objects.get(pk=body["id"]).display_name == "Acme"

    assert admin.delete(f"/api/v2/organizations/{body['id']}").status_code == 204
    assert_error(admin.get(f"/api/v2/organizations/{body['id']}"), 404, "inexistent_organization")
    assert_error(admin.get("/api/v2/organizations/name/acme"), 404, "inexistent_organization")
    actions = set(AuditEvent.objects.filter(actor_id=caller.client_id).values_list("action", flat=True))
    assert {"organization.create", "organization.update", "organization.delete"} <= actions


def test_a_minimal_organization_omits_what_is_not_set(admin):
    body = admin.post("/api/v2/organizations", {"name": "globex"}, format="json").json()
    assert set(body) == {"id", "name", "metadata", "third_party_client_access"}
    assert body["metadata"] == {}


def test_a_taken_name_is_409_on_create_and_on_rename(admin, make_organization):
    make_organization("acme")
    other = make_organization("globex")
    assert_error(admin.post("/api/v2/organizations", {"name": "acme"}, format="json"), 409, "conflict", "already")
    assert_error(
        admin.patch(f"/api/v2/organizations/{other.pk}", {"name": "acme"}, format="json"), 409, "conflict", "already"
    )
    assert Organization.objects.get(pk=other.pk).name == "globex"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "name"),
        ({"name": "Acme Corp"}, "name"),
        ({"name": " acme"}, "name"),
        ({"name": "acme", "enabled_connections": [{"connection_id": "con_missing"}]}, "con_missing"),
        ({"name": "acme", "enabled_connections": [{"show_as_button": True}]}, "connection_id"),
        (
            {"name": "acme", "enabled_connections": [{"connection_id": "con_x"}, {"connection_id": "con_x"}]},
            "Each connection is listed once",
        ),
        ({"name": "acme", "colour": "red"}, "Additional properties not allowed (colour)"),
        ({"name": "acme", "third_party_client_access": "deny"}, "is not one of: block, allow"),
        ({"name": "acme", "branding": {"logo_url": "http://acme.example.com/logo.png"}}, "https URL"),
        ({"name": "acme", "branding": {"colors": {"primary": "#0059d6"}}}, "branding.colors.page_background"),
        ({"name": "acme", "branding": {"colors": {"primary": "blue", "page_background": "#fff000"}}}, "#1a2b3c"),
        ({"name": "acme", "metadata": {"seats": 12}}, "Expected type string"),
        ({"name": "acme", "metadata": {f"k{n}": "v" for n in range(26)}}, "at most 25"),
        ({"name": 7}, "Expected type string but found type integer"),
    ],
)
def test_bad_organization_bodies_are_refused_and_create_nothing(admin, payload, message):
    response = admin.post("/api/v2/organizations", payload, format="json")
    if "con_missing" in str(payload):
        assert_error(response, 404, "inexistent_connection", message)
    else:
        assert_error(response, 400, "invalid_body", message)
    assert not Organization.objects.exists()


def test_an_organization_created_with_its_connections(admin, database):
    created = admin.post(
        "/api/v2/organizations",
        {"name": "acme", "enabled_connections": [{"connection_id": database.pk, "assign_membership_on_login": True}]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["enabled_connections"] == [
        {
            "connection_id": database.pk,
            "assign_membership_on_login": True,
            "show_as_button": True,
            "is_signup_enabled": False,
            "connection": {"name": DATABASE_CONNECTION_NAME, "strategy": "auth0"},
        }
    ]
    organization = Organization.objects.get(pk=created.json()["id"])
    assert list(organization.connections.all()) == [database]
    assert "enabled_connections" not in admin.get(f"/api/v2/organizations/{organization.pk}").json()


def test_a_connection_refused_at_creation_leaves_no_organization(admin, database):
    """Sign-up without membership on login is refused by the connection's rules: the organization
    created just before in the same request is rolled back with it."""
    payload = {"name": "acme", "enabled_connections": [{"connection_id": database.pk, "is_signup_enabled": True}]}
    assert_error(admin.post("/api/v2/organizations", payload, format="json"), 400, "invalid_body", "is_signup_enabled")
    assert not Organization.objects.exists()


def test_unknown_organization_is_404_on_every_path(admin):
    for method, path in [
        ("get", "/api/v2/organizations/org_missing"),
        ("patch", "/api/v2/organizations/org_missing"),
        ("delete", "/api/v2/organizations/org_missing"),
        ("get", "/api/v2/organizations/org_missing/members"),
        ("get", "/api/v2/organizations/org_missing/enabled_connections"),
        ("get", "/api/v2/organizations/org_missing/client-grants"),
    ]:
        assert_error(getattr(admin, method)(path, {}, format="json"), 404, "inexistent_organization")


def test_organizations_page_by_offset_and_by_checkpoint_in_a_fixed_number_of_queries(
    admin, make_organization, django_assert_max_num_queries
):
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        make_organization(name)
    with django_assert_max_num_queries(4):
        page = admin.get("/api/v2/organizations?page=1&per_page=2&include_totals=true").json()
    assert page["start"] == 2 and page["limit"] == 2 and page["total"] == 5
    assert [org["name"] for org in page["organizations"]] == ["charlie", "delta"]
    assert [org["name"] for org in admin.get("/api/v2/organizations").json()] == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
    ]

    seen, checkpoint = [], None
    while True:
        query = "take=2" + (f"&from={checkpoint}" if checkpoint else "")
        with django_assert_max_num_queries(4):
            body = admin.get(f"/api/v2/organizations?{query}").json()
        seen += [org["id"] for org in body["organizations"]]
        checkpoint = body.get("next")
        if checkpoint is None:
            break
    assert sorted(seen) == sorted(Organization.objects.values_list("pk", flat=True)) and len(seen) == 5

    assert_error(admin.get("/api/v2/organizations?from=%%%"), 400, "invalid_query_string")
    assert_error(admin.get("/api/v2/organizations?per_page=101"), 400, "invalid_query_string")
    assert_error(admin.get("/api/v2/organizations?sort_by=name"), 400, "invalid_query_string", "sort_by")


# -- members --------------------------------------------------------------------------------------


def test_members_added_listed_and_removed_with_their_tokens_revoked(admin, make_organization, caller):
    organization = make_organization("acme")
    dana, erin = make_users("dana", "erin")
    erin.federated_profile = {"name": "Erin Example", "picture": "https://cdn.example.com/erin.png"}
    erin.save()
    path = f"/api/v2/organizations/{organization.pk}/members"

    added = admin.post(path, {"members": [dana.user_id, erin.user_id]}, format="json")
    assert added.status_code == 204, added.content
    assert admin.post(path, {"members": [dana.user_id]}, format="json").status_code == 204  # already a member
    members = admin.get(path).json()
    assert members == [
        {"user_id": dana.user_id, "email": "dana@example.com", "name": "dana@example.com"},
        {
            "user_id": erin.user_id,
            "email": "erin@example.com",
            "picture": "https://cdn.example.com/erin.png",
            "name": "Erin Example",
        },
    ]
    assert admin.get(f"{path}?fields=user_id").json() == [{"user_id": dana.user_id}, {"user_id": erin.user_id}]

    held = [user_token(caller, user, organization) for user in (dana, erin)]
    removed = admin.delete(path, {"members": [dana.user_id]}, format="json")
    assert removed.status_code == 204, removed.content
    # The removed member's token for the organization is gone; the other member's still works.
    assert not AccessToken.objects.filter(pk=held[0].pk).exists()
    assert AccessToken.objects.filter(pk=held[1].pk).exists()
    assert [member["user_id"] for member in admin.get(path).json()] == [erin.user_id]
    assert set(organization.members.all()) == {erin}
    event = AuditEvent.objects.get(action="organization.members_remove")
    assert event.actor_id == caller.client_id and event.data["users"] == [dana.user_id]


@pytest.mark.parametrize(
    ("members", "status", "code", "message"),
    [
        ([], 400, "invalid_body", "members"),
        ("auth0|abc", 400, "invalid_body", "Expected type array"),
        ([f"auth0|{n}" for n in range(11)], 400, "invalid_body", "members"),
        (["auth0|nobody"], 404, "inexistent_user", "auth0|nobody"),
        (["not-a-user-id"], 404, "inexistent_user", "not-a-user-id"),
    ],
)
def test_bad_member_changes_are_refused_and_change_nothing(admin, make_organization, members, status, code, message):
    (dana,) = make_users("dana")
    organization = make_organization("acme", members=[dana])
    path = f"/api/v2/organizations/{organization.pk}/members"
    for method in (admin.post, admin.delete):
        assert_error(method(path, {"members": members}, format="json"), status, code, message)
    assert list(organization.members.all()) == [dana]


def test_members_page_by_checkpoint_in_a_fixed_number_of_queries(
    admin, make_organization, django_assert_max_num_queries
):
    users = make_users(*(f"user{n}" for n in range(7)))
    organization = make_organization("acme", members=users)
    path = f"/api/v2/organizations/{organization.pk}/members"
    seen, checkpoint = [], None
    while True:
        query = "take=3" + (f"&from={checkpoint}" if checkpoint else "")
        with django_assert_max_num_queries(4):
            body = admin.get(f"{path}?{query}").json()
        seen += [member["user_id"] for member in body["members"]]
        checkpoint = body.get("next")
        if checkpoint is None:
            break
    assert seen == [user.user_id for user in users]
    with django_assert_max_num_queries(4):
        page = admin.get(f"{path}?per_page=5&include_totals=true").json()
    assert page["total"] == 7 and len(page["members"]) == 5


# -- enabled connections --------------------------------------------------------------------------


def test_enabled_connections_added_read_updated_and_removed(admin, make_organization, database, caller):
    organization = make_organization("acme")
    path = f"/api/v2/organizations/{organization.pk}/enabled_connections"
    added = admin.post(path, {"connection_id": database.pk, "assign_membership_on_login": True}, format="json")
    assert added.status_code == 201, added.json()
    expected = {
        "connection_id": database.pk,
        "assign_membership_on_login": True,
        "show_as_button": True,
        "is_signup_enabled": False,
        "connection": {"name": DATABASE_CONNECTION_NAME, "strategy": "auth0"},
    }
    assert added.json() == expected
    assert admin.get(f"{path}/{database.pk}").json() == expected
    assert admin.get(path).json() == [expected]

    updated = admin.patch(f"{path}/{database.pk}", {"is_signup_enabled": True, "show_as_button": False}, format="json")
    assert updated.status_code == 200, updated.json()
    assert updated.json()["is_signup_enabled"] is True and updated.json()["show_as_button"] is False

    assert admin.delete(f"{path}/{database.pk}").status_code == 204
    assert_error(admin.get(f"{path}/{database.pk}"), 404, "inexistent_connection")
    assert not OrganizationConnection.objects.exists()
    assert AuditEvent.objects.filter(action="organization.connection_remove", actor_id=caller.client_id).exists()


def test_bad_enabled_connection_changes_are_refused(admin, make_organization, database):
    organization = make_organization("acme", connections=[database])
    other = make_organization("globex")
    path = f"/api/v2/organizations/{organization.pk}/enabled_connections"
    assert_error(admin.post(path, {"connection_id": database.pk}, format="json"), 409, "conflict", "already enabled")
    assert_error(admin.post(path, {"connection_id": "con_missing"}, format="json"), 404, "inexistent_connection")
    assert_error(admin.post(path, {"show_as_button": True}, format="json"), 400, "invalid_body", "connection_id")
    assert_error(
        admin.patch(f"{path}/{database.pk}", {"is_signup_enabled": True}, format="json"),
        400,
        "invalid_body",
        "assign_membership_on_login",
    )
    assert_error(
        admin.patch(f"{path}/{database.pk}", {"show_as_button": "no"}, format="json"),
        400,
        "invalid_body",
        "Expected type boolean",
    )
    # Another organization's path never reaches this organization's connection.
    other_path = f"/api/v2/organizations/{other.pk}/enabled_connections/{database.pk}"
    assert_error(admin.delete(other_path), 404, "inexistent_connection")
    assert OrganizationConnection.objects.get(organization=organization).is_signup_enabled is False


def test_enabled_connections_list_pages_in_a_fixed_number_of_queries(
    admin, actor, make_organization, database, django_assert_max_num_queries
):
    from oauthcore.services.connections import connection_create

    others = [
        connection_create(actor=actor, name=f"db-{n}", strategy="auth0", display_name=f"DB {n}") for n in range(4)
    ]
    organization = make_organization("acme", connections=[database, *others])
    with django_assert_max_num_queries(4):
        page = admin.get(f"/api/v2/organizations/{organization.pk}/enabled_connections?per_page=3&include_totals=1")
    body = page.json()
    assert body["total"] == 5 and body["limit"] == 3
    assert [link["connection"]["name"] for link in body["enabled_connections"]] == [
        DATABASE_CONNECTION_NAME,
        "db-0",
        "db-1",
    ]


# -- client grants --------------------------------------------------------------------------------


def test_client_grants_associated_listed_and_removed(admin, make_organization, machine_grant, caller):
    acme, globex = make_organization("acme"), make_organization("globex")
    path = f"/api/v2/organizations/{acme.pk}/client-grants"
    added = admin.post(path, {"grant_id": machine_grant.pk}, format="json")
    assert added.status_code == 201, added.json()
    expected = {
        "id": machine_grant.pk,
        "client_id": machine_grant.client.client_id,
        "audience": "https://orders.example.com/",
        "scope": ["read:orders"],
        "allow_any_organization": False,
    }
    assert added.json() == expected
    assert admin.get(path).json() == [expected]
    assert admin.get(f"{path}?audience=https://orders.example.com/").json() == [expected]
    assert admin.get(f"{path}?client_id=someone-else").json() == []
    assert admin.get(f"{path}?grant_ids={machine_grant.pk},cgr_other").json() == [expected]

    admin.post(f"/api/v2/organizations/{globex.pk}/client-grants", {"grant_id": machine_grant.pk}, format="json")
    organizations = admin.get(f"/api/v2/client-grants/{machine_grant.pk}/organizations").json()
    assert [org["name"] for org in organizations] == ["acme", "globex"]

    assert admin.delete(f"{path}/{machine_grant.pk}").status_code == 204
    assert_error(admin.delete(f"{path}/{machine_grant.pk}"), 404, "inexistent_client_grant")
    assert list(OrganizationClientGrant.objects.values_list("organization__name", flat=True)) == ["globex"]
    assert AuditEvent.objects.filter(action="organization.client_grant_remove", actor_id=caller.client_id).exists()


def test_bad_client_grant_associations_are_refused(admin, make_organization, machine_grant, make_api, make_grant):
    acme = make_organization("acme")
    path = f"/api/v2/organizations/{acme.pk}/client-grants"
    admin.post(path, {"grant_id": machine_grant.pk}, format="json")
    assert_error(admin.post(path, {"grant_id": machine_grant.pk}, format="json"), 409, "conflict", "already")
    assert_error(admin.post(path, {"grant_id": "cgr_missing"}, format="json"), 404, "inexistent_client_grant")
    assert_error(admin.post(path, {}, format="json"), 400, "invalid_body", "grant_id")
    default = make_grant(make_api(), default_for="third_party_clients", scope=["read:things"])
    assert_error(admin.post(path, {"grant_id": default.pk}, format="json"), 400, "invalid_body", "grant_id")
    user_grant = make_grant(make_api(), client=machine_grant.client, subject_type=SubjectType.USER)
    assert_error(admin.post(path, {"grant_id": user_grant.pk}, format="json"), 400, "invalid_body", "grant_id")
    assert_error(admin.get("/api/v2/client-grants/cgr_missing/organizations"), 404, "inexistent_client_grant")
    assert OrganizationClientGrant.objects.count() == 1


def test_grant_lists_take_a_fixed_number_of_queries(
    admin, make_organization, make_app, make_api, make_grant, django_assert_max_num_queries
):
    api = make_api(identifier="https://reports.example.com/")
    grants = [
        make_grant(api, client=make_app(name=f"Robot {n}", app_type=AppType.NON_INTERACTIVE, callbacks=[]))
        for n in range(4)
    ]
    organizations = [make_organization(f"org-{n}") for n in range(4)]
    for organization in organizations:
        for grant in grants:
            admin.post(f"/api/v2/organizations/{organization.pk}/client-grants", {"grant_id": grant.pk}, format="json")
    with django_assert_max_num_queries(4):
        listed = admin.get(f"/api/v2/organizations/{organizations[0].pk}/client-grants?include_totals=true").json()
    assert listed["total"] == 4 and {grant["client_id"] for grant in listed["client_grants"]} == {
        grant.client.client_id for grant in grants
    }
    with django_assert_max_num_queries(4):
        page = admin.get(f"/api/v2/client-grants/{grants[0].pk}/organizations?take=3").json()
    assert len(page["organizations"]) == 3 and page["next"]


# -- scopes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/api/v2/organizations", "read:organizations"),
        ("post", "/api/v2/organizations", "create:organizations"),
        ("get", "/api/v2/organizations/{org}", "read:organizations"),
        ("get", "/api/v2/organizations/name/acme", "read:organizations"),
        ("patch", "/api/v2/organizations/{org}", "update:organizations"),
        ("delete", "/api/v2/organizations/{org}", "delete:organizations"),
        ("get", "/api/v2/organizations/{org}/members", "read:organization_members"),
        ("post", "/api/v2/organizations/{org}/members", "create:organization_members"),
        ("delete", "/api/v2/organizations/{org}/members", "delete:organization_members"),
        ("get", "/api/v2/organizations/{org}/enabled_connections", "read:organization_connections"),
        ("post", "/api/v2/organizations/{org}/enabled_connections", "create:organization_connections"),
        ("get", "/api/v2/organizations/{org}/enabled_connections/{con}", "read:organization_connections"),
        ("patch", "/api/v2/organizations/{org}/enabled_connections/{con}", "update:organization_connections"),
        ("delete", "/api/v2/organizations/{org}/enabled_connections/{con}", "delete:organization_connections"),
        ("get", "/api/v2/organizations/{org}/client-grants", "read:organization_client_grants"),
        ("post", "/api/v2/organizations/{org}/client-grants", "create:organization_client_grants"),
        ("delete", "/api/v2/organizations/{org}/client-grants/{grant}", "delete:organization_client_grants"),
        ("get", "/api/v2/client-grants/{grant}/organizations", "read:organization_client_grants"),
    ],
)
def test_each_endpoint_needs_its_own_scope(api, make_organization, database, machine_grant, method, path, scope):
    organization = make_organization("acme", connections=[database])
    url = path.format(org=organization.pk, con=database.pk, grant=machine_grant.pk)
    # Every organization scope but the one the endpoint needs.
    others = [value for value in SCOPES if value != scope]
    assert_error(getattr(api(*others), method)(url, {}, format="json"), 403, "insufficient_scope", scope)
    assert_error(getattr(api(), method)(url, {}, format="json"), 403, "insufficient_scope")
    assert Organization.objects.get(pk=organization.pk).enabled_connections.count() == 1


# -- the apps' and the tenant's organization settings ---------------------------------------------


def test_clients_read_and_write_their_organization_settings(admin, make_app):
    created = admin.post(
        "/api/v2/clients",
        {"name": "Portal", "organization_usage": "require", "organization_require_behavior": "post_login_prompt"},
        format="json",
    ).json()
    assert created["organization_usage"] == "require"
    assert created["organization_require_behavior"] == "post_login_prompt"
    app = make_app(name="Web")
    read = admin.get(f"/api/v2/clients/{app.client_id}").json()
    assert read["organization_usage"] == "deny" and read["organization_require_behavior"] == "no_prompt"
    updated = admin.patch(f"/api/v2/clients/{app.client_id}", {"organization_usage": "allow"}, format="json")
    assert updated.status_code == 200 and updated.json()["organization_usage"] == "allow"
    app.refresh_from_db()
    assert app.organization_usage == "allow"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"organization_usage": "sometimes"}, "'\"sometimes\" is not one of: deny, allow, require.' on property"),
        ({"organization_require_behavior": "ask"}, "is not one of: no_prompt, pre_login_prompt, post_login_prompt"),
        ({"organization_usage": True}, "Expected type string but found type boolean"),
    ],
)
def test_bad_organization_settings_of_a_client_are_field_errors(admin, make_app, payload, message):
    app = make_app(name="Web")
    body = assert_error(admin.patch(f"/api/v2/clients/{app.client_id}", payload, format="json"), 400, "invalid_body")
    assert message in body["message"] and next(iter(payload)) in body["message"]
    app.refresh_from_db()
    assert app.organization_usage == "deny" and app.organization_require_behavior == "no_prompt"


def test_a_permissive_third_party_client_cannot_use_organizations(admin, make_app):
    app = make_app(name="Legacy partner", is_first_party=False, third_party_security_mode="permissive")
    assert_error(
        admin.patch(f"/api/v2/clients/{app.client_id}", {"organization_usage": "allow"}, format="json"),
        400,
        "invalid_body",
        "organization_usage: Permissive third-party applications do not support organizations.",
    )


def test_tenant_settings_allow_organization_names_in_the_authentication_api(admin):
    assert admin.get("/api/v2/tenants/settings").json()["allow_organization_name_in_authentication_api"] is False
    updated = admin.patch(
        "/api/v2/tenants/settings", {"allow_organization_name_in_authentication_api": True}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["allow_organization_name_in_authentication_api"] is True
    assert TenantSettings.load().allow_organization_name_in_authentication_api is True
    assert_error(
        admin.patch(
            "/api/v2/tenants/settings", {"allow_organization_name_in_authentication_api": "yes"}, format="json"
        ),
        400,
        "invalid_body",
        "Expected type boolean",
    )


def test_client_grants_show_and_change_their_organization_settings(api, machine_grant):
    client = api("read:client_grants", "update:client_grants")
    assert client.get(f"/api/v2/client-grants/{machine_grant.pk}").json()["allow_any_organization"] is False
    updated = client.patch(
        f"/api/v2/client-grants/{machine_grant.pk}",
        {"organization_usage": "allow", "allow_any_organization": True},
        format="json",
    )
    assert updated.status_code == 200, updated.json()
    assert updated.json()["organization_usage"] == "allow" and updated.json()["allow_any_organization"] is True
