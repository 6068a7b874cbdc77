"""The management API's resources: Auth0 shapes, paging, filters, errors, and audit through the services."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from consent.models import UserGrant
from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, SubjectType
from oauthcore.models import AccessToken, Application, AuditEvent, ClientGrant, ResourceServer
from tests.celery_worker import wait_for
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db

ALL = [
    f"{action}:{resource}"
    for resource, actions in {
        "clients": "read create update delete",
        "resource_servers": "read create update delete",
        "client_grants": "read create update delete",
        "connections": "read create update delete",
        "grants": "read delete",
        "users": "read create delete",
        "tenant_settings": "read update",
    }.items()
    for action in actions.split()
]


@pytest.fixture
def admin(api):
    return api(*ALL)


# -- clients ----------------------------------------------------------------------------------------


def test_client_create_returns_the_secret_once_and_is_audited_with_the_acting_client(admin, caller):
    response = admin.post(
        "/api/v2/clients",
        {"name": "Partner", "is_first_party": False, "callbacks": ["https://partner.example.com/cb"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["client_id"].startswith("tpc_") and body["client_secret"]
    assert body["third_party_security_mode"] == "strict" and body["grant_types"] == ["authorization_code"]
    assert body["redirection_policy"] == "open_redirect_protection"
    assert body["callbacks"] == ["https://partner.example.com/cb"]
    read = admin.get(f"/api/v2/clients/{body['client_id']}").json()
    assert "client_secret" not in read
    event = AuditEvent.objects.get(
        action="client.create", target_id=str(Application.objects.get(client_id=body["client_id"]).pk)
    )
    assert event.actor_type == "client" and event.actor_id == caller.client_id
    assert Application.objects.get(client_id=body["client_id"]).created_via == "api"
    first = admin.post("/api/v2/clients", {"name": "Mine"}, format="json").json()
    assert "third_party_security_mode" not in first and first["is_first_party"] is True


def test_client_rotate_update_delete(admin, make_app):
    app = make_app(name="Web")
    rotated = admin.post(f"/api/v2/clients/{app.client_id}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["client_secret"]
    updated = admin.patch(
        f"/api/v2/clients/{app.client_id}", {"name": "Renamed", "is_first_party": True}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Renamed"
    body = assert_error(
        admin.patch(f"/api/v2/clients/{app.client_id}", {"is_first_party": False}, format="json"), 400, "invalid_body"
    )
    assert "is_first_party is set at creation and cannot be changed." in body["message"]
    body = assert_error(
        admin.patch(f"/api/v2/clients/{app.client_id}", {"colour": "red"}, format="json"), 400, "invalid_body"
    )
    assert body["message"] == "Payload validation error: 'Additional properties not allowed (colour)'."
    body = assert_error(
        admin.patch(f"/api/v2/clients/{app.client_id}", {"name": 5, "callbacks": "x"}, format="json"),
        400,
        "invalid_body",
    )
    assert body["message"].startswith("Payload validation error: ") and "on property callbacks" in body["message"]
    assert admin.delete(f"/api/v2/clients/{app.client_id}").status_code == 204
    assert_error(admin.get(f"/api/v2/clients/{app.client_id}"), 404, "inexistent_client", "The client does not exist")
    assert_error(admin.delete(f"/api/v2/clients/{app.client_id}"), 404, "inexistent_client")
    assert_error(admin.post("/api/v2/clients", {}, format="json"), 400, "invalid_body", "on property name")


def test_client_list_filters_fields_and_offset_pages(admin, make_app, caller):
    make_app(name="Third", is_first_party=False)
    make_app(name="SPA", app_type=AppType.SPA, callbacks=["https://spa.example.com/cb"])
    everything = admin.get("/api/v2/clients").json()
    assert isinstance(everything, list) and len(everything) == 3
    third = admin.get("/api/v2/clients?is_first_party=false").json()
    assert [c["name"] for c in third] == ["Third"]
    assert [c["name"] for c in admin.get("/api/v2/clients?app_type=spa").json()] == ["SPA"]
    assert_error(admin.get("/api/v2/clients?app_type=tv"), 400, "invalid_query_string")
    # An empty filter names no type: refused, not read as "every app" (a fuzzer's find).
    assert_error(admin.get("/api/v2/clients?app_type="), 400, "invalid_query_string")
    assert_error(admin.get("/api/v2/clients?app_type=,"), 400, "invalid_query_string")
    only = admin.get("/api/v2/clients?fields=client_id,name").json()
    assert all(set(c) == {"client_id", "name"} for c in only)
    without = admin.get("/api/v2/clients?fields=client_metadata&include_fields=false").json()
    assert all("client_metadata" not in c and "name" in c for c in without)
    one = admin.get(f"/api/v2/clients/{caller.client_id}?fields=name").json()
    assert one == {"name": "Automation"}
    page = admin.get("/api/v2/clients?page=1&per_page=2&include_totals=true").json()
    assert page["start"] == 2 and page["limit"] == 2 and page["total"] == 3 and len(page["clients"]) == 1
    assert_error(admin.get("/api/v2/clients?per_page=101"), 400, "invalid_query_string")
    assert_error(admin.get("/api/v2/clients?page=x"), 400, "invalid_query_string")


# -- resource servers -------------------------------------------------------------------------------


def test_resource_server_create_defaults_and_conflict(admin):
    body = {"identifier": "https://orders.example.com/", "name": "Orders", "scopes": [{"value": "read:orders"}]}
    response = admin.post("/api/v2/resource-servers", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert len(created["id"]) == 24 and created["is_system"] is False and created["signing_alg"] == "RS256"
    assert created["token_lifetime"] == 86400 and created["allow_offline_access"] is False
    assert created["subject_type_authorization"] == {
        "user": {"policy": "allow_all"},
        "client": {"policy": "require_client_grant"},
    }
    assert created["scopes"] == [{"value": "read:orders", "description": ""}] and "client_id" not in created
    assert_error(admin.post("/api/v2/resource-servers", body, format="json"), 409, "conflict")
    changed = admin.patch(
        f"/api/v2/resource-servers/{created['id']}", {"identifier": "https://other.example.com/"}, format="json"
    )
    assert_error(changed, 400, "invalid_body", "identifier is set at creation and cannot be changed.")
    policy = {"subject_type_authorization": {"client": {"policy": "allow_all"}}}
    assert_error(admin.patch(f"/api/v2/resource-servers/{created['id']}", policy, format="json"), 400, "invalid_body")
    assert_error(admin.get("/api/v2/resource-servers/nope"), 404, "inexistent_resource_server")
    by_identifier = admin.get("/api/v2/resource-servers/https%3A%2F%2Forders.example.com%2F")
    assert by_identifier.json()["id"] == created["id"]


def test_deleting_an_api_takes_back_the_consents_that_name_it(admin, make_api, make_app, django_user_model):
    """An API made again with the same identifier asks its users again (consents name APIs by identifier)."""
    from oauthcore.consents import consent_store

    api, app = make_api(identifier="https://again.example.com/"), make_app()
    user = django_user_model.objects.create_user(username="consenting", password="x" * 20)
    consent_store().record(user=user, client=app, audience=api.identifier, scopes=["read:things"])

    assert admin.delete(f"/api/v2/resource-servers/{api.pk}").status_code == 204

    make_api(identifier="https://again.example.com/")
    assert consent_store().consented_scopes(user=user, client=app, audience="https://again.example.com/") is None
    assert not UserGrant.objects.filter(audience="https://again.example.com/").exists()


def test_system_api_cannot_be_deleted_or_loosened(admin):
    system = ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)
    assert admin.get(f"/api/v2/resource-servers/{system.pk}").json()["is_system"] is True
    assert_error(
        admin.delete(f"/api/v2/resource-servers/{system.pk}"), 400, "invalid_body", "System APIs cannot be deleted."
    )
    loosen = {"subject_type_authorization": {"user": {"policy": "allow_all"}}}
    system.user_policy = "require_client_grant"
    system.save()
    assert_error(
        admin.patch(f"/api/v2/resource-servers/{system.pk}", loosen, format="json"),
        400,
        "invalid_body",
        "cannot be loosened",
    )


# -- client grants ----------------------------------------------------------------------------------


def test_client_grants_shapes_conflicts_and_immutable_fields(admin, make_api, make_app):
    api, app = make_api(identifier="https://orders.example.com/"), make_app(is_first_party=False)
    default = admin.post(
        "/api/v2/client-grants",
        {"audience": api.identifier, "default_for": "third_party_clients", "allow_all_scopes": True},
        format="json",
    )
    assert default.status_code == 201, default.json()
    assert "client_id" not in default.json() and "scope" not in default.json()
    assert default.json()["subject_type"] == "client"
    own = admin.post(
        "/api/v2/client-grants",
        {"client_id": app.client_id, "audience": api.identifier, "scope": ["read:things"], "subject_type": "user"},
        format="json",
    ).json()
    assert "default_for" not in own and own["scope"] == ["read:things"] and own["is_system"] is False
    duplicate = {"client_id": app.client_id, "audience": api.identifier, "scope": [], "subject_type": "user"}
    assert_error(admin.post("/api/v2/client-grants", duplicate, format="json"), 409, "conflict")
    both = {"client_id": app.client_id, "default_for": "third_party_clients", "audience": api.identifier}
    assert_error(admin.post("/api/v2/client-grants", both, format="json"), 400, "invalid_body", "Exactly one")
    missing_client = {"client_id": "nope", "audience": api.identifier}
    assert_error(admin.post("/api/v2/client-grants", missing_client, format="json"), 404, "inexistent_client")
    missing_api = {"client_id": app.client_id, "audience": "https://nope.example.com/"}
    assert_error(admin.post("/api/v2/client-grants", missing_api, format="json"), 404, "inexistent_resource_server")
    path = f"/api/v2/client-grants/{own['id']}"
    for change in ({"audience": "https://x.example.com/"}, {"subject_type": "client"}, {"client_id": "other"}):
        body = assert_error(admin.patch(path, change, format="json"), 400, "invalid_body")
        assert "is set at creation and cannot be changed." in body["message"]
    same = admin.patch(path, {"audience": api.identifier, "scope": ["read:things", "write:things"]}, format="json")
    assert same.status_code == 200 and same.json()["scope"] == ["read:things", "write:things"]
    assert_error(admin.patch(path, {"scope": ["nope"]}, format="json"), 400, "invalid_body", "Scopes not defined")
    assert admin.delete(path).status_code == 204
    assert_error(admin.get(path), 404, "inexistent_client_grant")


def test_client_grants_checkpoint_pages_and_filters(admin, make_api, make_app, make_grant):
    api, other = make_api(), make_api()
    apps = [make_app(name=f"App {n}") for n in range(5)]
    for app in apps:
        make_grant(api, client=app, scope=["read:things"])
    make_grant(other, default_for="third_party_clients", subject_type=SubjectType.USER)
    seen, checkpoint = [], None
    while True:
        query = f"/api/v2/client-grants?audience={api.identifier}&take=2" + (
            f"&from={checkpoint}" if checkpoint else ""
        )
        page = admin.get(query).json()
        assert len(page["client_grants"]) <= 2
        seen += [grant["id"] for grant in page["client_grants"]]
        checkpoint = page.get("next")
        if not checkpoint:
            break
    assert sorted(seen) == sorted(ClientGrant.objects.filter(resource_server=api).values_list("id", flat=True))
    assert len(admin.get(f"/api/v2/client-grants?client_id={apps[0].client_id}").json()) == 1
    defaults = admin.get("/api/v2/client-grants?default_for=third_party_clients&subject_type=user").json()
    assert [grant["audience"] for grant in defaults] == [other.identifier]
    for query in ("subject_type=", "subject_type=robot", "default_for=", "subject_type=user&subject_type=client"):
        assert_error(admin.get(f"/api/v2/client-grants?{query}"), 400, "invalid_query_string")
    totals = admin.get("/api/v2/client-grants?include_totals=true&per_page=2").json()
    assert set(totals) == {"start", "limit", "total", "client_grants"} and totals["total"] >= 6
    assert_error(admin.get("/api/v2/client-grants?from=%%%"), 400, "invalid_query_string")


# -- connections, users, grants, tenant settings ----------------------------------------------------


def test_connections_and_their_clients(admin, make_app):
    app = make_app()
    created = admin.post("/api/v2/connections", {"name": "partners", "strategy": "auth0"}, format="json")
    assert created.status_code == 201 and created.json()["is_domain_connection"] is False
    connection_id = created.json()["id"]
    promoted = admin.patch(f"/api/v2/connections/{connection_id}", {"is_domain_connection": True}, format="json")
    assert promoted.json()["is_domain_connection"] is True
    assert_error(admin.patch(f"/api/v2/connections/{connection_id}", {"name": "x"}, format="json"), 400, "invalid_body")
    path = f"/api/v2/connections/{connection_id}/clients"
    assert admin.patch(path, [{"client_id": app.client_id, "status": True}], format="json").status_code == 204
    assert admin.get(path).json() == {"clients": [{"client_id": app.client_id}]}
    assert_error(admin.patch(path, [{"client_id": "nope", "status": True}], format="json"), 404, "inexistent_client")
    too_many = [{"client_id": app.client_id, "status": True}] * 51
    assert_error(admin.patch(path, too_many, format="json"), 400, "invalid_body")
    listed = admin.get("/api/v2/connections?include_totals=true").json()
    assert listed["total"] == 2 and {c["name"] for c in listed["connections"]} >= {"partners"}
    assert [c["name"] for c in admin.get("/api/v2/connections?strategy=auth0&strategy=auth0").json()] == [
        "Username-Password-Authentication",
        "partners",
    ]
    # An enumerated filter with an empty or unknown value is refused, not read as "no filter" (a fuzzer's find).
    for query in ("strategy=", "strategy=auth0&strategy=", "strategy=nope"):
        assert_error(admin.get(f"/api/v2/connections?{query}"), 400, "invalid_query_string")
    assert_error(admin.get("/api/v2/connections/con_nope"), 404, "inexistent_connection")
    assert admin.delete(f"/api/v2/connections/{connection_id}").status_code == 204


def test_users_create_get_list_delete(admin):
    body = {
        "connection": "Username-Password-Authentication",
        "email": "bob@example.com",
        "password": "a long passphrase 9",
    }
    created = admin.post("/api/v2/users", body, format="json")
    assert created.status_code == 201, created.json()
    user = created.json()
    assert user["user_id"].startswith("auth0|") and user["email"] == "bob@example.com"
    assert user["identities"] == [
        {
            "connection": "Username-Password-Authentication",
            "provider": "auth0",
            "user_id": user["user_id"][6:],
            "isSocial": False,
        }
    ]
    assert user["created_at"].endswith("Z")
    assert_error(admin.post("/api/v2/users", body, format="json"), 409, "conflict", "The user already exists.")
    weak = {**body, "email": "carol@example.com", "password": "123"}
    assert_error(admin.post("/api/v2/users", weak, format="json"), 400, "invalid_body")
    assert_error(
        admin.post("/api/v2/users", {**body, "connection": "nope"}, format="json"), 404, "inexistent_connection"
    )
    assert admin.get(f"/api/v2/users/{user['user_id']}").json()["user_id"] == user["user_id"]
    assert admin.get("/api/v2/users?include_totals=true").json()["total"] == 1
    assert admin.delete(f"/api/v2/users/{user['user_id']}").status_code == 204
    assert_error(admin.get(f"/api/v2/users/{user['user_id']}"), 404, "inexistent_user")
    assert_error(admin.get("/api/v2/users/malformed"), 404, "inexistent_user")
    assert AuditEvent.objects.filter(action="user.delete", actor_type="client").exists()


def test_tenant_settings(admin, make_api):
    api = make_api()
    settings = admin.get("/api/v2/tenants/settings").json()
    assert settings["flags"] == {"enable_dynamic_client_registration": False}
    changed = admin.patch(
        "/api/v2/tenants/settings",
        {
            "friendly_name": "Acme",
            "default_audience": api.identifier,
            "flags": {"enable_dynamic_client_registration": True},
        },
        format="json",
    ).json()
    assert changed["friendly_name"] == "Acme" and changed["default_audience"] == api.identifier
    assert changed["flags"]["enable_dynamic_client_registration"] is True
    assert_error(
        admin.patch("/api/v2/tenants/settings", {"default_audience": "https://nope/"}, format="json"),
        400,
        "invalid_body",
    )
    assert_error(admin.patch("/api/v2/tenants/settings", {"flags": {"x": True}}, format="json"), 400, "invalid_body")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_deleting_grants_revokes_their_tokens(admin, make_app, make_api):
    users = get_user_model().objects
    alice = users.create_user(username="alice", email="alice@example.com", password="a long passphrase 2")
    app, api, other = make_app(is_first_party=False), make_api(), make_api()
    one = UserGrant.objects.create(user=alice, client=app, audience=api.identifier, scope=["read:things"])
    UserGrant.objects.create(user=alice, client=app, audience=other.identifier, scope=["read:things"])
    expires = timezone.now() + timedelta(hours=1)
    token = AccessToken.objects.create(
        token="t1", application=app, user=alice, resource=[api.identifier], expires=expires
    )
    listed = admin.get(f"/api/v2/grants?user_id={alice.user_id}&include_totals=true").json()
    assert listed["total"] == 2
    grant = next(g for g in listed["grants"] if g["audience"] == api.identifier)
    assert grant == {
        "id": one.pk,
        "clientID": app.client_id,
        "user_id": alice.user_id,
        "audience": api.identifier,
        "scope": ["read:things"],
    }
    assert (
        admin.get(f"/api/v2/grants?client_id={app.client_id}&audience={other.identifier}").json()[0]["audience"]
        == other.identifier
    )
    assert admin.delete(f"/api/v2/grants/{one.pk}").status_code == 204
    wait_for(lambda: not AccessToken.objects.filter(pk=token.pk).exists(), message="access token revoked")
    assert_error(admin.delete(f"/api/v2/grants/{one.pk}"), 404, "inexistent_grant")
    assert_error(admin.delete("/api/v2/grants"), 400, "invalid_query_string")
    assert admin.delete(f"/api/v2/grants?user_id={alice.user_id}").status_code == 204
    assert not UserGrant.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action="consent.revoke", actor_type="client").count() == 2


# -- query counts -----------------------------------------------------------------------------------


def _add_rows(count: int, make_api, make_app, make_grant, actor, start: int = 0) -> None:
    from oauthcore.models import Connection
    from oauthcore.services.connections import connection_set_enabled_clients

    users = get_user_model().objects
    connection = Connection.objects.get(name="Username-Password-Authentication")
    for n in range(start, start + count):
        app = make_app(name=f"App {n}")
        api = make_api(identifier=f"https://list{n}.example.com/")
        make_grant(api, client=app, scope=["read:things"])
        user = users.create_user(username=f"user{n}", email=f"user{n}@example.com")
        UserGrant.objects.create(user=user, client=app, audience=api.identifier, scope=["read:things"])
        connection_set_enabled_clients(actor=actor, connection=connection, changes={app.pk: True})


def test_every_list_takes_the_same_few_statements_whatever_the_page_size(admin, make_api, make_app, make_grant, actor):
    """Each list endpoint, with its filters and both paging styles: statements counted on a small
    tenant and again on a ten times larger one, with pages of up to 100 rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oauthcore.models import Connection

    database = Connection.objects.get(name="Username-Password-Authentication")
    paths = [
        "clients?include_totals=true&per_page=100",
        "clients?per_page=100&app_type=regular_web&is_first_party=true&fields=client_id,name",
        "resource-servers?include_totals=true&per_page=100",
        "resource-servers?identifiers=https://list1.example.com/&identifiers=https://list2.example.com/",
        "client-grants?include_totals=true&per_page=100",
        "client-grants?per_page=100&audience=https://list1.example.com/&subject_type=client",
        "connections?include_totals=true&per_page=100",
        "connections?strategy=auth0&name=Username-Password-Authentication",
        f"connections/{database.pk}/clients?take=100",
        "grants?include_totals=true&per_page=100",
        "users?include_totals=true&per_page=100",
        "users?per_page=100&connection=Username-Password-Authentication",
    ]

    def counts() -> dict[str, int]:
        found = {}
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                response = admin.get(f"/api/v2/{path}")
            assert response.status_code == 200, (path, response.json())
            found[path] = len(queries.captured_queries)
        return found

    _add_rows(3, make_api, make_app, make_grant, actor)
    small = counts()
    _add_rows(27, make_api, make_app, make_grant, actor, start=3)
    large = counts()
    assert large == small
    # the token (with its client and user), the total when asked for, the page (and an API's scopes)
    assert max(large.values()) <= 4, large
    assert len(admin.get("/api/v2/users?per_page=100").json()) == 30
