"""Attacks with oversized or malformed input on the authorization server, over HTTP: dynamic
registration bounded before any work, loopback callbacks matched by port except for native apps,
and login names bounded by what an account can hold."""

import json
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from oauthcore.conf import DEFAULTS
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType
from oauthcore.models import Application, AuditEvent, Connection, TenantSettings
from oauthcore.services.connections import connection_set_domain_level
from tests.oauthcore.flows import CHALLENGE

pytestmark = pytest.mark.django_db

MAX_URIS = DEFAULTS["CLIENT_METADATA_MAX_URIS"]
MAX_BODY = DEFAULTS["REGISTRATION_MAX_BODY_BYTES"]


@pytest.fixture
def registration_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})


def register(body, client=None):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return (client or Client()).post("/oidc/register", payload, content_type="application/json")


def assert_nothing_registered():
    assert not Application.objects.exists()
    assert not AuditEvent.objects.filter(action="client.create").exists()


# -- point 4: dynamic registration is bounded ------------------------------------------------------------


def test_sixty_thousand_redirect_uris_are_a_413_and_nothing_is_stored(registration_on):
    """The review's attack: 60,000 redirect URIs, 1.7 MB, in one anonymous request, were stored."""
    body = {"client_name": "Flood", "redirect_uris": [f"https://flood.example.com/{n}" for n in range(60_000)]}
    response = register(body)
    assert response.status_code == 413
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": f"The client metadata must be at most {MAX_BODY} bytes.",
    }
    assert_nothing_registered()


def test_more_redirect_uris_than_the_limit_in_a_small_body_is_invalid_redirect_uri(registration_on):
    uris = [f"https://a.example.com/{n}" for n in range(MAX_URIS + 1)]
    response = register({"redirect_uris": uris})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_redirect_uri",
        "error_description": f"redirect_uris holds at most {MAX_URIS} URLs ({MAX_URIS + 1} given).",
    }
    assert_nothing_registered()
    assert register({"redirect_uris": uris[:MAX_URIS]}).status_code == 201  # the limit itself is fine


def test_a_redirect_uri_longer_than_the_limit_is_invalid_redirect_uri(registration_on):
    longest = DEFAULTS["CLIENT_METADATA_MAX_URI_LENGTH"]
    response = register({"redirect_uris": ["https://a.example.com/" + "a" * longest]})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert f"at most {longest} characters" in response.json()["error_description"]
    assert_nothing_registered()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("grant_types", ["authorization_code"] * 1000),
        ("response_types", ["code"] * 1000),
        ("contacts", [f"ops{n}@example.com" for n in range(200)]),
        ("contacts", ["a" * 5000 + "@example.com"]),
    ],
)
def test_every_other_list_is_bounded(registration_on, name, value):
    response = register({"redirect_uris": ["https://a.example.com/cb"], name: value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client_metadata" and body["error_description"].startswith(
        ("Each item of " + name, name + " holds at most")
    ), body
    assert_nothing_registered()


def test_arrays_nested_too_deep_are_invalid_json_not_a_500(registration_on):
    response = register("[" * 20_000)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "The request body is not valid JSON.",
    }


def test_a_registration_update_is_bounded_too(registration_on):
    registered = register({"redirect_uris": ["https://a.example.com/cb"]}).json()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}")
    path = urlsplit(registered["registration_client_uri"]).path
    flood = json.dumps({"redirect_uris": [f"https://a.example.com/{n}" for n in range(60_000)]})
    assert client.put(path, flood, content_type="application/json").status_code == 413
    many = json.dumps({"redirect_uris": [f"https://a.example.com/{n}" for n in range(MAX_URIS + 1)]})
    response = client.put(path, many, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"
    assert Application.objects.get().callbacks == ["https://a.example.com/cb"]


def test_oversized_and_unreadable_registrations_count_against_the_rate_limit(registration_on, settings):
    """The limit is counted before the body is even looked at: junk spends the allowance too."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"registration": "2/m"}}
    assert register("x" * (MAX_BODY + 1)).status_code == 413
    assert register("not json").status_code == 400
    response = register({"redirect_uris": ["https://a.example.com/cb"]})
    assert response.status_code == 429 and response.json()["error"] == "too_many_requests"
    assert_nothing_registered()


def test_the_limits_are_settings(registration_on, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "CLIENT_METADATA_MAX_URIS": 2, "REGISTRATION_MAX_BODY_BYTES": 200}
    three = {"redirect_uris": [f"https://a.example.com/{n}" for n in range(3)]}
    assert register(three).json()["error_description"] == "redirect_uris holds at most 2 URLs (3 given)."
    assert register({"redirect_uris": ["https://a.example.com/" + "a" * 200]}).status_code == 413


# -- point 10: a loopback callback's port is free for native apps only ------------------------------------


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
def signed_in(client, actor):
    """A user of a domain-level connection, so third-party apps may sign them in."""
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    client.force_login(get_user_model().objects.create_user(username="erin", password=None))
    return client


def assert_refused_without_redirect(response, reason=b"Mismatching redirect URI."):
    assert response.status_code == 400, response.content
    assert "Location" not in response
    assert reason in response.content


LOOPBACK_CALLBACKS = [
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1:9999/cb"),
    ("http://127.0.0.1/cb", "http://127.0.0.1:9999/cb"),
    ("http://[::1]:8080/cb", "http://[::1]:9999/cb"),
]


@pytest.mark.parametrize(("registered", "other_port"), LOOPBACK_CALLBACKS)
@pytest.mark.parametrize(
    "kind",
    [
        {"app_type": AppType.REGULAR_WEB, "is_first_party": True},
        {"app_type": AppType.REGULAR_WEB, "is_first_party": False},
        {"app_type": AppType.SPA, "is_first_party": True},
    ],
)
def test_a_web_apps_loopback_callback_does_not_match_another_port(
    signed_in, make_app, make_api, make_grant, registered, other_port, kind
):
    """Another program on the user's machine, listening on another port, must not get the web app's code."""
    api = make_api()
    app = make_app(name="Web", callbacks=[registered], **kind)
    make_grant(api, client=app, scope=["read:things"], subject_type="user")
    assert_refused_without_redirect(authorize(signed_in, app, other_port, api.identifier))
    page = authorize(signed_in, app, registered, api.identifier)  # the registered port itself is fine
    assert page.status_code == 200 and b'value="accept"' in page.content


@pytest.mark.parametrize(("registered", "other_port"), LOOPBACK_CALLBACKS)
def test_a_native_apps_loopback_callback_matches_any_port(signed_in, make_app, make_api, registered, other_port):
    """RFC 8252 §7.3: a native app gets its port from the operating system at run time."""
    api = make_api()
    app = make_app(name="Desktop", app_type=AppType.NATIVE, callbacks=[registered])
    page = authorize(signed_in, app, other_port, api.identifier)
    assert page.status_code == 200 and b'value="accept"' in page.content


@pytest.mark.parametrize("bad_port", ["http://127.0.0.1:99999/cb", "http://127.0.0.1:port/cb"])
def test_a_callback_whose_port_is_not_a_port_is_refused(signed_in, make_app, make_api, bad_port):
    api = make_api()
    for app_type in (AppType.REGULAR_WEB, AppType.NATIVE):
        app = make_app(name=f"App {app_type}", app_type=app_type, callbacks=["http://127.0.0.1:8080/cb"])
        assert_refused_without_redirect(authorize(signed_in, app, bad_port, api.identifier), reason=b"redirect URI")


def test_a_callback_whose_port_is_not_a_port_cannot_be_registered(registration_on):
    response = register({"redirect_uris": ["http://127.0.0.1:99999/cb"]})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_redirect_uri",
        "error_description": "'http://127.0.0.1:99999/cb' has an invalid port.",
    }


# -- point 11: login names bounded by what an account can hold ---------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/admin/login/"])
def test_a_sixty_thousand_character_login_name_is_a_field_error_not_a_503(path, fast_password_hashing):
    """On SQLite the name became a LIKE pattern too complex to run: an error answered as an outage."""
    get_user_model().objects.create_user(username="bob", email="bob@example.com", password="a long passphrase 7")
    response = Client().post(path, {"username": "b" * 60_000, "password": "x"})
    assert response.status_code == 200
    assert "at most 254 characters" in str(response.context["form"].errors["username"])
    assert not AuditEvent.objects.filter(action="user.login_failed").exists()  # no lookup, no password check


def test_the_longest_email_still_logs_in(client, fast_password_hashing):
    email = "e" * 64 + "@" + "d" * 185 + ".com"  # 254 characters, the email field's limit
    get_user_model().objects.create_user(username="long", email=email, password="a long passphrase 7")
    response = client.post("/login", {"username": email, "password": "a long passphrase 7"})
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/device/code", "/oidc/register"])
@pytest.mark.parametrize("prefix", ["", '{"a": "\\ud83d\\ude00", "b": '])  # a surrogate escape: the guard parses too
def test_json_nested_too_deep_is_a_400_on_every_json_endpoint(registration_on, path, prefix):
    response = Client().post(path, prefix + "[" * 20_000, content_type="application/json")
    assert response.status_code in {400, 401}  # 401: the device endpoint asks who the client is first
    assert response.json()["error"] in {"invalid_request", "invalid_client", "invalid_client_metadata"}
