"""Attacks on the management API and on the answers that carry a client secret, over HTTP against the live server.

- End users must not obtain Management API power: the API accepts only client-credentials tokens,
  and a user-subject grant on a system API cannot be created (issue 15, point 3).
- Every answer that carries a client secret or a registration access token is never stored by a
  cache (``Cache-Control: no-store``, ``Pragma: no-cache``) (point 9).
"""

import io
import json

import pytest
import requests
from django.core.management import call_command

from oauthcore import policy_cache
from oauthcore.constants import AppType, SubjectType
from oauthcore.models import ClientGrant, TenantSettings
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import Browser, oauth_client, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "v" * 50
MANAGEMENT_API = f"{ISSUER}/api/v2/"


@pytest.fixture
def tenant_admin(live_server):
    """A client-credentials token of the tenant's management client, with every management scope."""
    out = io.StringIO()
    call_command("create_management_client", "--name", "Tests", stdout=out)
    bootstrap = json.loads(out.getvalue())
    response = requests.post(
        f"{live_server.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": bootstrap["client_id"],
            "client_secret": bootstrap["client_secret"],
            "audience": MANAGEMENT_API,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


@pytest.fixture
def own_app(actor):
    """A first-party web app, the kind a tenant builds for its own users."""
    issued = application_create(actor=actor, name="Own App", app_type=AppType.REGULAR_WEB, callbacks=[CALLBACK])
    return issued.application, issued.client_secret


def assert_no_store(response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers
    assert response.headers.get("Pragma") == "no-cache", response.headers


# -- point 3: end users never hold Management API power --------------------------------------------------------


def test_a_users_token_for_the_management_api_is_refused_by_the_management_api(live_server, own_app, alice):
    app, secret = own_app
    # A user-subject grant as one could be created before the model refused them (written directly).
    ClientGrant.objects.bulk_create(
        [
            ClientGrant(
                client=app,
                resource_server_id=MANAGEMENT_API,
                subject_type=SubjectType.USER,
                scope=["read:clients", "create:clients"],
            )
        ]
    )
    policy_cache.bump()  # bulk writes send no signals
    client = oauth_client(app, secret, CALLBACK, "read:clients create:clients")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=MANAGEMENT_API
    )
    browser = Browser(live_server.url)
    outcome = browser.authorize(url, username="alice")
    back = browser.answer_consent(outcome, accept=True) if outcome.kind == "consent" else outcome
    if "code" in back.params:  # the token the attacker holds, if the server hands one out
        token = client.fetch_token(
            f"{live_server.url}/oauth/token", authorization_response=back.location, code_verifier=VERIFIER
        )
        assert verify_jwt(live_server.url, token["access_token"], MANAGEMENT_API, ISSUER)["sub"] == alice.user_id
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        listed = requests.get(f"{live_server.url}/api/v2/clients", headers=headers, timeout=10)
        assert listed.status_code == 401, listed.text
        assert listed.json() == {
            "statusCode": 401,
            "error": "Unauthorized",
            "message": "The Management API accepts only client-credentials tokens; this token was issued to a user.",
            "errorCode": "invalid_token",
        }
        created = requests.post(
            f"{live_server.url}/api/v2/clients", headers=headers, json={"name": "Backdoor"}, timeout=10
        )
        assert created.status_code == 401 and created.json()["errorCode"] == "invalid_token"
    else:  # refused before any token: just as good
        assert back.params.get("error") == "access_denied", back.params


def test_a_user_grant_on_the_management_api_cannot_be_created(live_server, tenant_admin, own_app):
    app, _ = own_app
    response = tenant_admin.post(
        f"{live_server.url}/api/v2/client-grants",
        json={
            "client_id": app.client_id,
            "audience": MANAGEMENT_API,
            "scope": ["read:clients"],
            "subject_type": "user",
        },
        timeout=10,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "invalid_body"
    assert body["message"] == (
        "subject_type: The Management API accepts only client-credentials tokens: "
        "grant the application itself (subject type client), not its users."
    )
    assert not ClientGrant.objects.filter(client=app, resource_server_id=MANAGEMENT_API).exists()

    # The application's own grant (subject type client) is fine, and cannot be turned into a user grant.
    created = tenant_admin.post(
        f"{live_server.url}/api/v2/client-grants",
        json={"client_id": app.client_id, "audience": MANAGEMENT_API, "scope": ["read:clients"]},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    patched = tenant_admin.patch(
        f"{live_server.url}/api/v2/client-grants/{created.json()['id']}", json={"subject_type": "user"}, timeout=10
    )
    assert patched.status_code == 400 and patched.json()["errorCode"] == "invalid_body"
    assert ClientGrant.objects.get(pk=created.json()["id"]).subject_type == SubjectType.CLIENT


# -- point 9: answers that carry a secret are never stored ------------------------------------------------------


def test_management_api_answers_with_a_client_secret_are_never_stored(live_server, tenant_admin):
    created = tenant_admin.post(
        f"{live_server.url}/api/v2/clients",
        json={"name": "Billing", "app_type": "non_interactive", "grant_types": ["client_credentials"]},
        timeout=10,
    )
    assert created.status_code == 201 and created.json()["client_secret"]
    assert_no_store(created)

    client_id = created.json()["client_id"]
    rotated = tenant_admin.post(f"{live_server.url}/api/v2/clients/{client_id}/rotate-secret", timeout=10)
    assert rotated.status_code == 200 and rotated.json()["client_secret"] != created.json()["client_secret"]
    assert_no_store(rotated)


def test_dynamic_registration_answers_are_never_stored(live_server):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    registered = requests.post(
        f"{live_server.url}/oidc/register",
        json={"client_name": "Registered", "redirect_uris": ["https://registered.example.com/cb"]},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["client_secret"] and body["registration_access_token"]
    assert_no_store(registered)

    headers = {"Authorization": f"Bearer {body['registration_access_token']}"}
    read = requests.get(body["registration_client_uri"].replace(ISSUER, live_server.url), headers=headers, timeout=10)
    assert read.status_code == 200
    assert_no_store(read)
    replaced = requests.put(
        body["registration_client_uri"].replace(ISSUER, live_server.url),
        headers=headers,
        json={"client_id": body["client_id"], "client_name": "Renamed", "redirect_uris": body["redirect_uris"]},
        timeout=10,
    )
    assert replaced.status_code == 200, replaced.text
    assert_no_store(replaced)
