"""The token endpoint's per-client limit, over HTTP: 429 with Retry-After, in the OAuth error shape."""

import pytest
import requests

from oauthcore.constants import AppType
from oauthcore.services.applications import application_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token_limit(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"token": "3/m"}}


@pytest.fixture
def m2m(actor, make_api, make_grant):
    api = make_api(identifier="https://orders.example.com/")

    def make(name):
        issued = application_create(actor=actor, name=name, app_type=AppType.NON_INTERACTIVE, callbacks=[])
        make_grant(api, client=issued.application, scope=["read:things"])
        return issued.application.client_id, issued.client_secret

    return make


def ask(live_server, client_id, secret):
    return requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://orders.example.com/"},
        auth=(client_id, secret),
        timeout=10,
    )


def test_a_client_over_its_limit_gets_429_with_retry_after(live_server, token_limit, m2m):
    client_id, secret = m2m("busy")
    assert [ask(live_server, client_id, secret).status_code for _ in range(3)] == [200, 200, 200]
    refused = ask(live_server, client_id, secret)
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.json() == {
        "error": "too_many_requests",
        "error_description": f"Too many requests. Try again in {retry_after} seconds.",
    }
    other_id, other_secret = m2m("quiet")  # counted apart
    assert ask(live_server, other_id, other_secret).status_code == 200


def test_strangers_cannot_spend_a_clients_allowance(live_server, token_limit, m2m):
    client_id, secret = m2m("victim")
    for _ in range(6):  # the client id is public; its secret is not
        response = ask(live_server, client_id, "guessed-secret")
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert ask(live_server, client_id, secret).status_code == 200


def test_every_grant_type_counts(live_server, token_limit, m2m):
    client_id, secret = m2m("mixed")
    refresh = requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "unknown"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert refresh.status_code in (400, 403)  # this client may not refresh, but the request counted
    assert [ask(live_server, client_id, secret).status_code for _ in range(3)] == [200, 200, 429]
