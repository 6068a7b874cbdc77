"""Every endpoint: a bearer token for the Management API audience, with the endpoint's scope."""

import pytest
from rest_framework.test import APIClient

from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v2/clients", "read:clients"),
    ("post", "/api/v2/clients", "create:clients"),
    ("get", "/api/v2/clients/abc", "read:clients"),
    ("patch", "/api/v2/clients/abc", "update:clients"),
    ("delete", "/api/v2/clients/abc", "delete:clients"),
    ("post", "/api/v2/clients/abc/rotate-secret", "update:clients"),
    ("get", "/api/v2/resource-servers", "read:resource_servers"),
    ("post", "/api/v2/resource-servers", "create:resource_servers"),
    ("get", "/api/v2/resource-servers/abc", "read:resource_servers"),
    ("patch", "/api/v2/resource-servers/abc", "update:resource_servers"),
    ("delete", "/api/v2/resource-servers/abc", "delete:resource_servers"),
    ("get", "/api/v2/client-grants", "read:client_grants"),
    ("post", "/api/v2/client-grants", "create:client_grants"),
    ("get", "/api/v2/client-grants/cgr_x", "read:client_grants"),
    ("patch", "/api/v2/client-grants/cgr_x", "update:client_grants"),
    ("delete", "/api/v2/client-grants/cgr_x", "delete:client_grants"),
    ("get", "/api/v2/connections", "read:connections"),
    ("post", "/api/v2/connections", "create:connections"),
    ("get", "/api/v2/connections/con_x", "read:connections"),
    ("patch", "/api/v2/connections/con_x", "update:connections"),
    ("delete", "/api/v2/connections/con_x", "delete:connections"),
    ("get", "/api/v2/connections/con_x/clients", "read:connections"),
    ("patch", "/api/v2/connections/con_x/clients", "update:connections"),
    ("get", "/api/v2/grants", "read:grants"),
    ("delete", "/api/v2/grants?user_id=auth0|x", "delete:grants"),
    ("delete", "/api/v2/grants/abc", "delete:grants"),
    ("get", "/api/v2/users", "read:users"),
    ("post", "/api/v2/users", "create:users"),
    ("get", "/api/v2/users/auth0|x", "read:users"),
    ("delete", "/api/v2/users/auth0|x", "delete:users"),
    ("get", "/api/v2/tenants/settings", "read:tenant_settings"),
    ("patch", "/api/v2/tenants/settings", "update:tenant_settings"),
]
IDS = [f"{method} {path}" for method, path, _ in ENDPOINTS]


def call(client, method, path):
    return getattr(client, method)(path, data={}, format="json")


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_no_token_is_401_with_bearer_challenge(method, path, scope):
    response = call(APIClient(), method, path)
    assert_error(response, 401, "unauthorized", "Missing authentication")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_token_without_the_scope_is_403(api, method, path, scope):
    other = "read:users" if scope != "read:users" else "read:clients"
    body = assert_error(call(api(other), method, path), 403, "insufficient_scope")
    assert body["message"] == f"Insufficient scope, expected any of: {scope}"
    assert body["error"] == "Forbidden"


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_token_with_the_scope_passes_the_checks(api, method, path, scope):
    response = call(api(scope), method, path)
    assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_token_for_another_audience_is_401(api, method, path, scope):
    response = call(api(scope, audience="https://orders.example.com/"), method, path)
    assert_error(response, 401, "invalid_token", "Bad audience")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_unknown_and_malformed_tokens_are_401(api):
    assert_error(api("read:clients", expires_in=-10).get("/api/v2/clients"), 401, "invalid_token", "Invalid token")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(client.get("/api/v2/clients"), 401, "invalid_token", "Invalid token")
    client.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert_error(client.get("/api/v2/clients"), 401, "invalid_token")


def test_unknown_path_and_method_use_the_envelope(api):
    client = api("read:clients", "read:grants")
    assert_error(client.get("/api/v2/nothing-here"), 404, "inexistent_resource")
    assert_error(client.put("/api/v2/clients", {}, format="json"), 405, "method_not_allowed")
    assert_error(client.get("/api/v2/grants/abc"), 405, "method_not_allowed")


def test_malformed_json_is_400(api):
    response = api("create:clients").generic("POST", "/api/v2/clients", "{nope", content_type="application/json")
    assert_error(response, 400, "invalid_body")


def test_a_lone_surrogate_is_400(api):
    """Valid JSON text (an escape), but no UTF-8 string can hold it: the error message that quoted
    the refused value could not be encoded, and the answer was a 500."""
    body = '{"name": "Agent", "app_type": "regular_web\\ud800"}'
    response = api("create:clients").generic("POST", "/api/v2/clients", body, content_type="application/json")
    assert_error(response, 400, "invalid_body")


def test_schema_and_docs_are_public():
    client = APIClient()
    schema = client.get("/api/v2/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v2/client-grants" in document["paths"]
    components = document["components"]["schemas"]
    assert components["SubjectTypeEnum"]["enum"] == ["client", "user"]
    assert "third_party_clients" in str(components)
    create = document["paths"]["/api/v2/client-grants"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v2/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
