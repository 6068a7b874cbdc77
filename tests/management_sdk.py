"""Auth0's own Python SDK pointed at the live server's management API, with a token from a
management client bootstrapped the way an operator does it (``create_management_client``).
Registered in ``tests/conftest.py``: the ``bootstrap`` and ``sdk`` fixtures."""

import io
import json

import pytest
from auth0.management import Auth0
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command


@pytest.fixture
def bootstrap():
    out = io.StringIO()
    call_command("create_management_client", "--name", "Tests", stdout=out)
    return json.loads(out.getvalue())


def client_credentials(live_server, client_id, secret, audience, scope=None):
    session = OAuth2Session(client_id=client_id, client_secret=secret, token_endpoint_auth_method="client_secret_post")
    params = {"audience": audience}
    if scope:
        params["scope"] = scope
    return session.fetch_token(f"{live_server.url}/oauth/token", grant_type="client_credentials", **params)


@pytest.fixture
def sdk(live_server, bootstrap):
    token = client_credentials(live_server, bootstrap["client_id"], bootstrap["client_secret"], bootstrap["audience"])
    assert "create:client_grants" in token["scope"].split()
    return Auth0(base_url=f"{live_server.url}/api/v2", token=token["access_token"], max_retries=0)
