"""While the database is unreachable, every surface answers 503 with a JSON error, no 500, no page."""

import pytest
from django.test import Client

from tests.outage import database_down

pytestmark = pytest.mark.django_db(transaction=True)

OAUTH_ERROR = {
    "error": "temporarily_unavailable",
    "error_description": "The service is temporarily unavailable. Try again shortly.",
}


@pytest.fixture
def signed_in(alice_user):
    client = Client()
    client.force_login(alice_user)
    return client


@pytest.fixture
def alice_user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="a long demo passphrase 1")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/oauth/token", {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}),
        ("post", "/oauth/introspect", {"token": "abc", "client_id": "x", "client_secret": "y"}),
        ("post", "/oauth/revoke", {"token": "abc", "client_id": "x", "client_secret": "y"}),
        ("get", "/authorize?response_type=code&client_id=x&redirect_uri=https://a.example/cb", None),
        ("post", "/login", {"username": "alice", "password": "whatever"}),
    ],
)
def test_oauth_and_pages_answer_503_json(method, path, data):
    client = Client()
    with database_down():
        response = getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == OAUTH_ERROR


def test_a_signed_in_page_answers_503_json(signed_in):
    with database_down():
        response = signed_in.get("/account/apps")
    assert response.status_code == 503 and response.json() == OAUTH_ERROR


def test_userinfo_answers_503_json():
    with database_down():
        response = Client().get("/userinfo", HTTP_AUTHORIZATION="Bearer some-token")
    assert response.status_code == 503 and response.json() == OAUTH_ERROR


def test_the_management_api_answers_503_in_its_envelope():
    client = Client()
    with database_down():
        response = client.get("/api/v2/clients", HTTP_AUTHORIZATION="Bearer some-token")
    assert response.status_code == 503
    assert response.json() == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "The service is temporarily unavailable. Try again shortly.",
        "errorCode": "unavailable",
    }


def test_everything_works_again_once_the_database_is_back(alice_user):
    client = Client()
    with database_down():
        assert client.post("/login", {"username": "alice", "password": "x"}).status_code == 503
    login = client.post("/login", {"username": "alice", "password": "a long demo passphrase 1"})
    assert login.status_code == 302


@pytest.mark.urls("tests.reliability.outage_urls")
def test_a_session_that_cannot_be_saved_answers_503_json(signed_in):
    """Django turns a failed session save into a 400 (``SessionInterrupted``); the cause is the outage."""
    from tests.reliability.outage_urls import OUTAGE

    with OUTAGE:
        response = signed_in.get("/database-goes-away")
    assert response.status_code == 503 and response.json() == OAUTH_ERROR
