"""Loopback, defined once: the consent rule and the callback rule agree on every spelling of localhost."""

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from oauthcore.loopback import is_loopback_host, is_loopback_uri
from oauthcore.models import Application, TenantSettings
from tests.oauthcore.flows import CHALLENGE, code_from

LOOPBACK_HOSTS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "app.localhost",
    "App.LocalHost",
    "app.localhost.",
    "a.b.localhost",
    "127.0.0.1",
    "127.0.0.2",
    "127.1.2.3",
    "127.255.255.255",
    "127.0.0.1.",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "[0:0:0:0:0:0:0:1]",
    "0000:0000:0000:0000:0000:0000:0000:0001",
    "0::1",
]
NOT_LOOPBACK_HOSTS = [
    None,
    "",
    "example.com",
    "localhost.example.com",
    "notlocalhost",
    "localhostx",
    "app.localhost.example.com",
    "xlocalhost",
    "128.0.0.1",
    "126.255.255.255",
    "10.0.0.1",
    "0.0.0.0",  # noqa: S104 (a host name to classify, not an address to bind)
    "::",
    "::2",
    "[::2]",
    "::ffff:127.0.0.1",  # IPv4-mapped: neither 127.0.0.0/8 nor ::1
    "[::1",
    "127.0.0.1..",
]


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK_HOSTS)
def test_hosts_that_are_not_loopback(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://localhost:3000/cb", True),
        ("http://LOCALHOST./cb", True),
        ("http://app.localhost:8080/cb", True),
        ("http://127.0.0.2:8080/cb", True),
        ("http://[::1]:8080/cb", True),
        ("http://[0:0:0:0:0:0:0:1]/cb", True),
        ("http://user@127.0.0.1/cb", True),
        ("https://app.example.com/cb", False),
        ("https://localhost.example.com/cb", False),
        ("http://[::ffff:127.0.0.1]/cb", False),
        ("com.example.app:/cb", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_uris(uri, expected):
    assert is_loopback_uri(uri) is expected


# -- the two rules, over HTTP: the spellings the two old definitions disagreed on ------------------

DISAGREED = ["http://127.0.0.2:8080/cb", "http://[0:0:0:0:0:0:0:1]:8080/cb", "http://app.localhost:8080/cb"]


def authorize(client, app, redirect_uri: str, audience: str):
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "audience": audience,
        "scope": "read:things",
        "state": "s",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return client.get("/authorize?" + urlencode(query))


@pytest.fixture
def own_api(make_api):
    return make_api(skip_consent_for_verifiable_first_party_clients=True)


@pytest.mark.django_db
@pytest.mark.parametrize("callback", DISAGREED)
def test_consent_is_never_skipped_for_a_first_party_app_on_loopback(client, make_app, own_api, callback):
    verifiable = "https://own-app.example.com/cb"
    app = make_app(name="Own", is_first_party=True, callbacks=[verifiable, callback])
    client.force_login(get_user_model().objects.create_user(username="erin", password=None))

    code_from(authorize(client, app, verifiable, own_api.identifier))  # a verifiable callback: no consent screen
    page = authorize(client, app, callback, own_api.identifier)
    assert page.status_code == 200 and b'value="accept"' in page.content  # on loopback: asked


@pytest.mark.django_db
@pytest.mark.parametrize("callback", DISAGREED)
def test_a_third_party_app_may_register_an_http_callback_on_loopback(client, callback):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    response = client.post("/oidc/register", {"redirect_uris": [callback]}, content_type="application/json")
    assert response.status_code == 201, response.content
    app = Application.objects.get(client_id=response.json()["client_id"])
    assert app.is_strict_third_party and app.callbacks == [callback]
