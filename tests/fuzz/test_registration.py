"""Bad input thrown at dynamic client registration: ``POST /oidc/register`` (RFC 7591) and the
registration client URI (RFC 7592). Never a 5xx, errors always RFC 7591 error JSON, and nothing
written (or changed) by a refused request. Derandomized and bounded (tests/fuzz/budget.py)."""

import json
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from oauthcore.constants import CreatedVia
from oauthcore.models import Application, AuditEvent, TenantSettings
from tests.fuzz.budget import FUZZ, FUZZ_OPERATION
from tests.fuzz.strategies import VALUES, WRONG_TYPES, RowCounts, assert_json_error, chain_is_intact, json_requests

pytestmark = pytest.mark.django_db

# RFC 7591 §3.2.2, plus the tenant flag's refusal and a request that could not be read at all
# (portal.platform.error_pages, portal.platform.request_guard). The rate limit has a test of its own.
REGISTRATION_ERRORS = {"invalid_client_metadata", "invalid_redirect_uri", "invalid_request", "access_denied"}
MANAGEMENT_ERRORS = REGISTRATION_ERRORS | {"invalid_token"}
VALID_METADATA = {
    "client_name": "Fuzzed agent",
    "redirect_uris": ["https://agent.example.com/callback", "http://127.0.0.1:53682/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_post",
    "application_type": "web",
    "logo_uri": "https://agent.example.com/logo.png",
    "contacts": ["ops@agent.example.com"],
    "client_uri": "https://agent.example.com/",
    "policy_uri": "https://agent.example.com/policy",
    "software_id": "fuzz-agent",
    "software_version": "1.0",
    "scope": "read:things",
}


@pytest.fixture
def registration_on(settings):
    """The tenant flag on, and the per-tenant limit (Auth0's 5/s) far above what fuzzing sends."""
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"registration": "100000/s"}}


def send(client, method, path, raw, **headers):
    return client.generic(method, path, raw.body, content_type=raw.content_type, **headers)


def register(client, **metadata) -> dict:
    response = client.post("/oidc/register", {**VALID_METADATA, **metadata}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def stored(client_id: str) -> dict:
    """Every column of the app: a refused update must leave all of them as they were."""
    return Application.objects.filter(client_id=client_id).values().get()


def assert_registered(response) -> None:
    """A 201 is a complete RFC 7591 §3.2.1 answer about a row that exists as described."""
    body = json.loads(response.content)
    app = Application.objects.get(client_id=body["client_id"])
    assert app.created_via == CreatedVia.DYNAMIC and app.is_strict_third_party
    assert body["registration_access_token"] and body["registration_client_uri"].endswith(f"/{app.client_id}")
    assert response["Location"] == body["registration_client_uri"]
    assert body["redirect_uris"] == app.callbacks and body["client_name"] == app.name
    assert body["grant_types"] == app.grant_types and "authorization_code" in app.grant_types
    assert ("client_secret" in body) is app.is_confidential


def assert_registered_or_refused(response, rows) -> None:
    """A registration either made exactly one app, or was refused in RFC 7591 error JSON and wrote nothing."""
    if response.status_code == 201:
        assert_registered(response)
        assert Application.objects.count() == rows.before["oauthcore.Application"] + 1
        return
    assert_json_error(response, REGISTRATION_ERRORS, {400, 413})  # 413: over REGISTRATION_MAX_BODY_BYTES
    rows.assert_unchanged()


def test_register(registration_on):
    client = Client()

    @FUZZ
    @given(raw=json_requests(VALID_METADATA))
    def fuzz(raw):
        rows = RowCounts(Application, AuditEvent)
        response = send(client, "POST", "/oidc/register", raw)
        assert_registered_or_refused(response, rows)

    fuzz()
    chain_is_intact()


def metadata_values(value):
    """For one field: its valid value, junk strings (lists of them for list fields), or wrong types."""
    junk = st.lists(VALUES, max_size=3) if isinstance(value, list) else VALUES
    return st.one_of(st.just(value), junk, WRONG_TYPES)


def test_register_with_well_formed_json(registration_on):
    """Syntactically valid JSON objects only, so that every example reaches the metadata checks."""
    client = Client()
    metadata = st.fixed_dictionaries({}, optional={name: metadata_values(v) for name, v in VALID_METADATA.items()})

    @FUZZ
    @given(data=metadata)
    def fuzz(data):
        rows = RowCounts(Application, AuditEvent)
        response = client.post("/oidc/register", data, content_type="application/json")
        assert_registered_or_refused(response, rows)

    fuzz()


def assert_every_registration_refused(errors: set, statuses: set) -> None:
    @FUZZ_OPERATION
    @given(raw=json_requests(VALID_METADATA))
    def fuzz(raw):
        rows = RowCounts(Application, AuditEvent)
        response = send(Client(), "POST", "/oidc/register", raw)
        assert_json_error(response, errors, statuses)
        rows.assert_unchanged()

    fuzz()


def test_register_while_the_tenant_flag_is_off():
    assert_every_registration_refused({"access_denied", "invalid_request"}, {400, 403})


def test_register_beyond_the_rate_limit(registration_on, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"registration": "1/h"}}
    register(Client())  # the hour's one registration
    assert_every_registration_refused({"too_many_requests", "invalid_request"}, {400, 429})


# -- RFC 7592: the registration client URI ----------------------------------------------------------------


@pytest.fixture
def registered(registration_on):
    """Two registered clients: their registration responses (client id and registration access token)."""
    client = Client()
    mine = register(client)
    other = register(client, redirect_uris=["https://other.example.com/cb"])
    return mine, other


def tokens(mine, other):
    """The right token, another client's, junk, and the right one mangled."""
    right = mine["registration_access_token"]
    return st.one_of(
        st.just(right), st.just(other["registration_access_token"]), VALUES, st.just(right[:-1]), st.just(right + "x")
    )


def authorization_headers(token_strategy):
    """An Authorization header as clients get it wrong: other schemes, no scheme, odd spacing."""
    scheme = st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "Basic ", "", "Bearer\t"])
    return st.one_of(st.none(), st.builds(lambda s, t: s + t, scheme, token_strategy))


def headers_for(authorization):
    return {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}


def test_read_with_fuzzed_tokens_and_client_ids(registered):
    mine, other = registered
    # Any client id that routes to the registration client URI (an empty one or a "/" is another URL).
    ids = st.one_of(
        st.just(mine["client_id"]), st.just(other["client_id"]), VALUES.filter(lambda v: v and "/" not in v)
    )

    @FUZZ
    @given(client_id=ids, authorization=authorization_headers(tokens(mine, other)))
    def fuzz(client_id, authorization):
        rows = RowCounts(Application, AuditEvent)
        path = f"/oidc/register/{quote(client_id, safe='')}"
        response = Client().get(path, **headers_for(authorization))
        if response.status_code == 200:  # only a client's own token reads it
            body = response.json()
            owner = next(c for c in (mine, other) if authorization.endswith(c["registration_access_token"]))
            assert body["client_id"] == client_id == owner["client_id"]
            assert "client_secret" not in body and "registration_access_token" not in body
        else:
            assert_json_error(response, MANAGEMENT_ERRORS, {400, 401})
        rows.assert_unchanged()  # reading writes nothing

    fuzz()


def test_update_with_fuzzed_bodies(registered):
    mine, other = registered
    uri = f"/oidc/register/{mine['client_id']}"
    base = {
        **VALID_METADATA,
        "client_id": mine["client_id"],
        "client_name": "Fuzzed agent, renamed",
        "redirect_uris": ["https://agent.example.com/v2"],
    }

    # Mostly the right token, so that most examples get to the body.
    right = st.just(f"Bearer {mine['registration_access_token']}")
    authorizations = st.one_of(right, right, right, authorization_headers(tokens(mine, other)))

    @FUZZ
    @given(raw=json_requests(base), authorization=authorizations)
    def fuzz(raw, authorization):
        before = stored(mine["client_id"])
        events = RowCounts(Application, AuditEvent)
        response = send(Client(), "PUT", uri, raw, **headers_for(authorization))
        if response.status_code == 200:
            body = response.json()
            app = Application.objects.get(client_id=mine["client_id"])
            assert body["client_id"] == app.client_id and body["redirect_uris"] == app.callbacks
            assert body["client_name"] == app.name and "registration_access_token" not in body
            return
        assert_json_error(response, MANAGEMENT_ERRORS, {400, 401, 413})
        assert stored(mine["client_id"]) == before, "a refused update changed the app"
        events.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_delete_with_wrong_tokens(registered):
    mine, other = registered
    uri = f"/oidc/register/{mine['client_id']}"
    wrong = tokens(mine, other).filter(lambda token: token.strip() != mine["registration_access_token"])

    @FUZZ_OPERATION
    @given(raw=json_requests({"client_id": mine["client_id"]}), authorization=authorization_headers(wrong))
    def fuzz(raw, authorization):
        rows = RowCounts(Application, AuditEvent)
        response = send(Client(), "DELETE", uri, raw, **headers_for(authorization))
        assert_json_error(response, MANAGEMENT_ERRORS, {400, 401})
        rows.assert_unchanged()

    fuzz()
    right = {"HTTP_AUTHORIZATION": f"Bearer {mine['registration_access_token']}"}
    assert Client().delete(uri, **right).status_code == 204
    assert not Application.objects.filter(client_id=mine["client_id"]).exists()
    assert Application.objects.filter(client_id=other["client_id"]).exists()
    chain_is_intact()
