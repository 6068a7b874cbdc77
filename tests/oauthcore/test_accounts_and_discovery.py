"""End-user login and logout, and the discovery documents clients read first."""

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)


def test_login_page_has_the_fields_clients_script_against(client):
    page = client.get("/login?next=/authorize")
    assert page.status_code == 200 and page["X-Frame-Options"] == "DENY"
    html = page.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and 'name="csrfmiddlewaretoken"' in html


def test_login_with_email_then_logout(client, alice):
    response = client.post("/login", {"username": "ALICE@example.com", "password": PASSWORD, "next": "/healthz"})
    assert response.status_code == 302 and response["Location"] == "/healthz"
    assert client.get("/logout").status_code == 200  # asks first; a GET never ends a session
    assert "_auth_user_id" in client.session
    client.post("/logout")
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_a_form_error(client, alice):
    response = client.post("/login", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_refuses_redirects_to_other_sites(client, alice):
    response = client.post("/login", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response["Location"]


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
def test_discovery_lists_exactly_what_is_supported(client, path):
    data = client.get(path).json()
    assert data["issuer"] == "http://127.0.0.1:8000"
    assert data["authorization_endpoint"] == "http://127.0.0.1:8000/authorize"
    assert data["token_endpoint"] == "http://127.0.0.1:8000/oauth/token"
    assert data["jwks_uri"] == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert data["response_types_supported"] == ["code"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert set(data["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert data["device_authorization_endpoint"] == "http://127.0.0.1:8000/oauth/device/code"
    assert data["resource_indicators_supported"] is True
    assert "implicit" not in str(data) and "password" not in data["grant_types_supported"]
    # Off by default: neither registration nor client ID metadata documents are advertised.
    assert "registration_endpoint" not in data
    assert data["client_id_metadata_document_supported"] is False


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"])
def test_discovery_advertises_registration_and_cimd_only_when_the_tenant_turns_them_on(client, path):
    from oauthcore.models import TenantSettings

    TenantSettings.objects.update_or_create(
        id=1, defaults={"enable_dynamic_client_registration": True, "enable_client_id_metadata_documents": True}
    )
    data = client.get(path).json()
    assert data["registration_endpoint"] == "http://127.0.0.1:8000/oidc/register"
    assert data["client_id_metadata_document_supported"] is True


def test_jwks_publishes_public_keys_only(client):
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])
