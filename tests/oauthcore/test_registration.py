"""Dynamic client registration (RFC 7591) and registration management (RFC 7592), as a client sees them."""

import pytest

from oauthcore.constants import AppType, CreatedVia
from oauthcore.models import Application, AuditEvent, TenantSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def dcr_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})


def register(client, **metadata):
    metadata.setdefault("redirect_uris", ["https://agent.example.com/callback"])
    return client.post("/oidc/register", metadata, content_type="application/json")


def assert_error(response, error: str, description: str):
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_registration_is_refused_while_the_tenant_flag_is_off(client):
    response = register(client, client_name="Agent")
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Dynamic client registration is not enabled for this tenant.",
    }
    assert not Application.objects.exists()


def test_a_registered_client_is_a_strict_third_party_app_with_auth0_defaults(client, dcr_on):
    response = register(client, client_name="Claude Code", redirect_uris=["https://agent.example.com/callback"])
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"].startswith("tpc_") and len(body["client_id"]) == 26
    assert body["client_name"] == "Claude Code"
    assert body["grant_types"] == ["authorization_code"]
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == ["https://agent.example.com/callback"]
    assert body["registration_access_token"]
    assert body["registration_client_uri"] == f"http://127.0.0.1:8000/oidc/register/{body['client_id']}"
    assert response["Location"] == body["registration_client_uri"]

    app = Application.objects.get(client_id=body["client_id"])
    assert app.is_strict_third_party and app.created_via == CreatedVia.DYNAMIC
    assert app.registration_source == Application.RegistrationSource.DCR
    assert app.client_secret != body["client_secret"]  # stored hashed
    assert app.registration_token_digest and body["registration_access_token"] not in app.registration_token_digest
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk)).exists()


def test_refresh_token_is_granted_only_when_asked_for(client, dcr_on):
    body = register(client, grant_types=["refresh_token", "authorization_code"]).json()
    assert body["grant_types"] == ["authorization_code", "refresh_token"]


def test_public_clients_get_no_secret(client, dcr_on):
    body = register(
        client,
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1:53682/callback", "com.example.agent:/oauth"],
    ).json()
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["application_type"] == "native"  # a private-use scheme makes it a native app
    assert Application.objects.get(client_id=body["client_id"]).app_type == AppType.NATIVE


@pytest.mark.parametrize(
    ("metadata", "error", "description"),
    [
        (
            {"grant_types": ["authorization_code", "client_credentials"]},
            "invalid_client_metadata",
            "The client_credentials grant type is not available through dynamic registration.",
        ),
        (
            {"grant_types": ["implicit"]},
            "invalid_client_metadata",
            "Grant types not supported for registered clients: implicit.",
        ),
        (
            {"jwks_uri": "https://agent.example.com/jwks", "frobnicate": True},
            "invalid_client_metadata",
            "Unsupported client metadata: frobnicate, jwks_uri.",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
            "token_endpoint_auth_method 'private_key_jwt' is not supported; "
            "use one of: client_secret_basic, client_secret_post, none.",
        ),
        ({"response_types": ["token"]}, "invalid_client_metadata", 'response_types must be ["code"].'),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris is required: at least one redirect URI."),
        (
            {"redirect_uris": ["http://agent.example.com/callback"]},
            "invalid_redirect_uri",
            "'http://agent.example.com/callback': third-party applications must use https (http only for localhost).",
        ),
        (
            {"redirect_uris": ["https://agent.example.com/cb#frag"]},
            "invalid_redirect_uri",
            "'https://agent.example.com/cb#frag' must not contain a fragment.",
        ),
        (
            {"redirect_uris": ["https://*.example.com/cb"]},
            "invalid_redirect_uri",
            "'https://*.example.com/cb': wildcards are not allowed; callback URLs must be exact.",
        ),
        (
            {"redirect_uris": ["javascript:alert(1)"], "application_type": "native"},
            "invalid_redirect_uri",
            "'javascript:alert(1)': the javascript scheme is not allowed.",
        ),
        # Found by fuzzing (tests/fuzz/test_registration.py): each of these was a 500.
        (
            {"redirect_uris": ["https://[agent.example.com/cb"]},
            "invalid_redirect_uri",
            "'https://[agent.example.com/cb' is not a valid URL.",
        ),
        (
            {"token_endpoint_auth_method": ["none"]},
            "invalid_client_metadata",
            "token_endpoint_auth_method must be a string of at most 255 characters.",
        ),
        ({"application_type": {"web": True}}, "invalid_client_metadata", 'application_type must be "web" or "native".'),
    ],
)
def test_unsupported_metadata_is_refused_with_a_description(client, dcr_on, metadata, error, description):
    assert_error(register(client, **metadata), error, description)
    assert not Application.objects.exists()


def test_a_body_that_is_not_json_is_refused(client, dcr_on):
    response = client.post("/oidc/register", "client_name=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, "invalid_client_metadata", "Send the client metadata as application/json.")
    response = client.post("/oidc/register", "{not json", content_type="application/json")
    assert_error(response, "invalid_client_metadata", "The request body is not valid JSON.")


def test_registrations_are_rate_limited_per_tenant(client, dcr_on, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"registration": "2/m"}}
    assert register(client).status_code == 201
    assert register(client, redirect_uris=["https://other.example.com/cb"]).status_code == 201
    refused = register(client)
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.json() == {
        "error": "too_many_requests",
        "error_description": f"Too many requests. Try again in {retry_after} seconds.",
    }
    assert Application.objects.count() == 2


def test_rfc7592_read_update_and_delete_with_the_registration_access_token(client, dcr_on):
    body = register(client, client_name="Agent").json()
    uri = f"/oidc/register/{body['client_id']}"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {body['registration_access_token']}"}

    read = client.get(uri, **auth)
    assert read.status_code == 200 and read.json()["client_name"] == "Agent"
    assert "client_secret" not in read.json() and "registration_access_token" not in read.json()

    assert client.get(uri).status_code == 401
    wrong = client.get(uri, HTTP_AUTHORIZATION="Bearer wrong")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in wrong["WWW-Authenticate"]

    updated = client.put(
        uri,
        {"client_id": body["client_id"], "client_name": "Agent 2", "redirect_uris": ["https://agent.example.com/v2"]},
        content_type="application/json",
        **auth,
    )
    assert updated.status_code == 200 and updated.json()["redirect_uris"] == ["https://agent.example.com/v2"]
    assert Application.objects.get(client_id=body["client_id"]).name == "Agent 2"
    refused = client.put(
        uri,
        {"redirect_uris": ["https://agent.example.com/v2"], "grant_types": ["client_credentials"]},
        content_type="application/json",
        **auth,
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"

    assert client.delete(uri, **auth).status_code == 204
    assert not Application.objects.filter(client_id=body["client_id"]).exists()
    assert client.get(uri, **auth).status_code == 401


def test_another_apps_token_cannot_manage_a_registration(client, dcr_on):
    first = register(client).json()
    second = register(client, redirect_uris=["https://two.example.com/cb"]).json()
    response = client.delete(
        f"/oidc/register/{first['client_id']}", HTTP_AUTHORIZATION=f"Bearer {second['registration_access_token']}"
    )
    assert response.status_code == 401
    assert Application.objects.filter(client_id=first["client_id"]).exists()


def test_a_registered_client_never_gets_client_credentials(client, dcr_on, make_api, make_grant):
    from oauthcore.constants import DefaultFor

    api = make_api()
    make_grant(api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"])
    body = register(client).json()
    response = client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"],
            "audience": api.identifier,
        },
    )
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"


def test_admins_see_and_filter_where_an_app_came_from(admin_client, client, dcr_on, make_app):
    make_app(name="Hand-made app")
    register(client, client_name="Registered agent")
    page = admin_client.get("/admin/oauthcore/application/", {"created_via__exact": "dynamic"}).content.decode()
    assert "Registered agent" in page and "Hand-made app" not in page
    assert "Dynamic client registration" in page


def test_expired_device_authorizations_are_cleared(make_app):
    from datetime import timedelta

    from django.utils import timezone

    from oauthcore.models import DeviceGrant
    from oauthcore.tasks import clear_expired_tokens

    now = timezone.now()
    DeviceGrant.objects.create(client_id="c", device_code="old", user_code="BBBBBBBB", expires=now - timedelta(1))
    DeviceGrant.objects.create(client_id="c", device_code="new", user_code="CCCCCCCC", expires=now + timedelta(1))
    clear_expired_tokens()
    assert list(DeviceGrant.objects.values_list("device_code", flat=True)) == ["new"]
