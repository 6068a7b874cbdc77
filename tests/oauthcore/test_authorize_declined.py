"""After the user's own Decline: a page that says what happened and where to go next (with open
redirect protection), while the app is told ``access_denied`` exactly as before (allow always)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, RedirectionPolicy, SubjectType
from oauthcore.models import Connection
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from tests.oauthcore.flows import CALLBACK, authorize_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_api):
    return make_api(identifier="https://orders.example.com/", name="Orders API", scopes=[("read:things", "Read")])


@pytest.fixture
def user(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="dana", email="dana@example.com", password=None)


@pytest.fixture
def make_app(actor, orders, make_grant):
    def make(policy=RedirectionPolicy.OPEN_REDIRECT_PROTECTION):
        issued = application_create(
            actor=actor,
            name="Acme Order Sync",
            app_type=AppType.REGULAR_WEB,
            is_first_party=False,
            callbacks=[CALLBACK],
            redirection_policy=policy,
        )
        make_grant(orders, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
        return issued.application

    return make


def answer(client, user, app, audience, **form):
    client.force_login(user)
    path = authorize_path(app, audience)
    assert client.get(path).status_code == 200  # the consent screen
    return client.post(path, form)


@pytest.mark.parametrize(
    "form", [{"decision": "decline", "scope": ["read:things"]}, {"decision": "accept"}], ids=["decline", "untick-all"]
)
def test_a_decline_says_what_happened_and_where_to_go(client, user, make_app, orders, form):
    app = make_app()
    response = answer(client, user, app, orders.identifier, **form)
    body = response.content.decode()
    assert response.status_code == 400  # the authorization request still ended in access_denied
    assert response.templates[0].name == "oauthcore/authorize_declined.html"
    assert "<h1>No access given</h1>" in body
    assert "You declined; <strong>Acme Order Sync</strong> was not given access to your account." in body
    assert 'href="/account/apps"' in body
    assert "Something went wrong" not in body and "error-code" not in body  # not the red error page
    assert "<code>access_denied</code>" in body
    assert CALLBACK not in body  # never a way to the callback under open redirect protection
    assert "unsafe-inline" not in response["Content-Security-Policy"]  # the consent pages' strict policy


def test_with_allow_always_a_decline_still_redirects_access_denied(client, user, make_app, orders):
    app = make_app(RedirectionPolicy.ALLOW_ALWAYS)
    response = answer(client, user, app, orders.identifier, decision="decline")
    assert response.status_code == 302 and response["Location"].startswith(f"{CALLBACK}?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert params == {
        "error": "access_denied",
        "error_description": "The user declined to authorize the application.",
        "state": "s",
        "iss": "http://127.0.0.1:8000",
    }


def test_other_errors_keep_their_page(client, user, make_app, orders):
    app = make_app()
    client.force_login(user)
    response = client.get(authorize_path(app, orders.identifier) + "&request=x")
    body = response.content.decode()
    assert response.status_code == 400 and "<h1>Something went wrong</h1>" in body
    assert '<p class="error-code">invalid_request</p>' in body and "You declined" not in body
