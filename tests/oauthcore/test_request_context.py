"""The state a request carries from hook to hook is the server's own: a client cannot set it.

oauthlib's request answers an attribute it lacks with the request parameter of that name. The
state used to travel as loose ``portcullis_*`` attributes, some read before they were set, so a
token request naming one as a parameter broke the request; it now lives in one context object.
"""

import pytest

from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db

# The names the state travelled under, and the one it travels under now.
STATE_NAMES = [
    "portcullis_context",
    "portcullis_load_client",
    "portcullis_code_grant",
    "portcullis_code_used",
    "portcullis_code_replayed",
    "portcullis_decision",
    "portcullis_inputs",
    "portcullis_audience",
    "portcullis_token_lifetime",
]


@pytest.mark.parametrize("name", STATE_NAMES)
def test_client_credentials_ignore_parameters_named_like_the_request_state(client, oauth_tenant, name):
    data = {
        "grant_type": "client_credentials",
        "client_id": oauth_tenant.m2m.application.client_id,
        "client_secret": oauth_tenant.m2m.client_secret,
        "audience": oauth_tenant.api.identifier,
        name: "1",
    }
    response = client.post("/oauth/token", data)
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read:things"
    assert response.json()["expires_in"] == oauth_tenant.api.token_lifetime


@pytest.mark.parametrize("name", STATE_NAMES)
def test_a_code_exchange_ignores_parameters_named_like_the_request_state(client, partner_web, crowded, name):
    issued, user = partner_web
    client.force_login(user)
    code = code_from(client.get(authorize_path(issued.application, crowded.identifier)))
    response = client.post("/oauth/token", {**exchange(issued, code), name: "1"})
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read:things"
    replayed = client.post("/oauth/token", {**exchange(issued, code), name: "1"})
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
