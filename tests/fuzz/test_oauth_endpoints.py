"""Bad input thrown at the OAuth endpoints (malformed, oversized, duplicated, wrongly encoded
parameters; lying content types): never a 5xx, always the documented error shape, never a
partial write. Derandomized and bounded (tests/fuzz/budget.py)."""

import json
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from hypothesis import given

from consent.models import UserGrant
from oauthcore.models import AccessToken, Application, AuditEvent, Grant, RefreshToken
from tests.fuzz.budget import FUZZ
from tests.fuzz.strategies import (
    RowCounts,
    assert_json_error,
    chain_is_intact,
    form_requests,
    json_requests,
    query_strings,
)

pytestmark = pytest.mark.django_db

TOKEN_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "invalid_target",
    "too_many_requests",
}
CALLBACK = "https://partner.example.com/callback"


@pytest.fixture
def tenant(oauth_tenant, django_user_model):
    """The usual cast (tests/conftest.py), a user, and a live access token."""
    api, api_client, m2m, web = oauth_tenant.api, oauth_tenant.api_client, oauth_tenant.m2m, oauth_tenant.web
    user = django_user_model.objects.create_user(username="alice", password="a long demo passphrase 1")
    token = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": m2m.application.client_id,
            "client_secret": m2m.client_secret,
            "audience": api.identifier,
        },
    )
    assert token.status_code == 200
    return {
        "api": api,
        "api_client": api_client,
        "m2m": m2m,
        "web": web,
        "user": user,
        "token": token.json()["access_token"],
    }


def authorize_params(tenant, **overrides) -> dict:
    """A valid authorization request of the partner app, with PKCE."""
    return {
        "response_type": "code",
        "client_id": tenant["web"].application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "read:things",
        "audience": tenant["api"].identifier,
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **overrides,
    }


def post(path, raw, **headers):
    return Client().generic("POST", path, raw.body, content_type=raw.content_type, **headers)


def test_token_endpoint(tenant):
    m2m, web = tenant["m2m"], tenant["web"]
    base = {
        "grant_type": "client_credentials",
        "client_id": m2m.application.client_id,
        "client_secret": m2m.client_secret,
        "audience": tenant["api"].identifier,
        "scope": "read:things",
        "code": "not-a-code",
        "redirect_uri": CALLBACK,
        "code_verifier": "v" * 50,
        "refresh_token": "not-a-refresh-token",
        "resource": "https://orders.example.com/",
    }

    @FUZZ
    @given(raw=form_requests(base))
    def fuzz(raw):
        rows = RowCounts(AccessToken, RefreshToken, Grant)
        response = post("/oauth/token", raw)
        if response.status_code == 200:
            body = json.loads(response.content)
            assert body["token_type"] == "Bearer" and body["access_token"]
            return
        assert_json_error(response, TOKEN_ERRORS, {400, 401, 403, 429})
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()
    assert web.application.client_id  # the web app's refresh and code paths were reachable too


def test_token_endpoint_as_a_public_client_with_basic_auth_junk(tenant):
    web = tenant["web"]
    base = {"grant_type": "authorization_code", "client_id": web.application.client_id, "code": "x"}

    @FUZZ
    @given(raw=form_requests(base), authorization=query_strings({"Basic": "x", "Bearer": "y"}))
    def fuzz(raw, authorization):
        rows = RowCounts(AccessToken, RefreshToken, Grant)
        response = post("/oauth/token", raw, HTTP_AUTHORIZATION=authorization.replace("=", " ", 1))
        assert_json_error(response, TOKEN_ERRORS, {400, 401, 403, 429})
        rows.assert_unchanged()

    fuzz()


def test_revocation_endpoint(tenant):
    m2m, api_client = tenant["m2m"], tenant["api_client"]
    other = Client().post(  # a token of another client: nothing sent by m2m may touch it
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": api_client.application.client_id,
            "client_secret": api_client.client_secret,
            "audience": tenant["api"].identifier,
        },
    )
    protected = AccessToken.objects.filter(application=api_client.application).count()
    base = {
        "token": other.json().get("access_token", tenant["token"]),
        "token_type_hint": "access_token",
        "client_id": m2m.application.client_id,
        "client_secret": m2m.client_secret,
    }

    @FUZZ
    @given(raw=form_requests(base))
    def fuzz(raw):
        response = post("/oauth/revoke", raw)
        if response.status_code == 200:
            assert response.content in (b"", b"{}")
        else:
            assert_json_error(response, {"invalid_request", "invalid_client", "unsupported_token_type"}, {400, 401})
        assert AccessToken.objects.filter(application=api_client.application).count() == protected

    fuzz()
    chain_is_intact()


def test_introspection_endpoint(tenant):
    api_client = tenant["api_client"]
    base = {
        "token": tenant["token"],
        "token_type_hint": "access_token",
        "client_id": api_client.application.client_id,
        "client_secret": api_client.client_secret,
    }

    @FUZZ
    @given(raw=form_requests(base))
    def fuzz(raw):
        rows = RowCounts(AccessToken, RefreshToken, Grant, AuditEvent)
        response = post("/oauth/introspect", raw)
        if response.status_code == 200:
            body = json.loads(response.content)
            assert body == {"active": False} or (body["active"] is True and body["sub"])
        else:
            assert_json_error(response, {"invalid_request", "invalid_client"}, {400, 401})
        rows.assert_unchanged()  # introspection reads only

    fuzz()


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_authorization_endpoint(tenant, signed_in):
    client = Client()
    if signed_in:
        client.force_login(tenant["user"])
    base = authorize_params(tenant, prompt="none", nonce="n")

    @FUZZ
    @given(query=query_strings(base))
    def fuzz(query):
        rows = RowCounts(Grant, UserGrant, AccessToken)
        response = client.generic("GET", f"/authorize?{query}")
        assert response.status_code in {200, 302, 400}, (response.status_code, response.content[:300])
        if response.status_code == 302:
            location = response["Location"]
            # Only ever to the login page or to the one registered callback.
            assert location.startswith("/login?") or location.startswith(CALLBACK + "?"), location
            if location.startswith(CALLBACK) and "code=" in urlsplit(location).query:
                return  # a valid request: the code is the one write allowed
        elif response.status_code == 400:
            assert b"Something went wrong" in response.content
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_management_api_json_bodies(tenant, management_token):
    """The JSON-body strategy (the one dynamic registration will use) against the management
    API's client creation: a 201 or an Auth0 envelope, and nothing written when refused."""
    base = {"name": "Fuzzed", "app_type": "regular_web", "callbacks": ["https://a.example/cb"], "is_first_party": False}

    @FUZZ
    @given(raw=json_requests(base))
    def fuzz(raw):
        rows = RowCounts(Application, AuditEvent)
        response = post("/api/v2/clients", raw, HTTP_AUTHORIZATION=f"Bearer {management_token}")
        if response.status_code == 201:
            return
        body = json.loads(response.content)
        assert response.status_code in {400, 409, 415}, body
        assert set(body) == {"statusCode", "error", "message", "errorCode"}, body
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_consent_answers(tenant):
    """The consent form's POST, mangled: whatever it says, a consent is stored only together with
    the code that comes back to the registered callback."""
    web = tenant["web"]
    client = Client()
    client.force_login(tenant["user"])
    query = urlencode(authorize_params(tenant, prompt="consent"))

    @FUZZ
    @given(raw=form_requests({"decision": "accept", "scope": "read:things"}))
    def fuzz(raw):
        rows = RowCounts(Grant, UserGrant)
        response = client.generic("POST", f"/authorize?{query}", raw.body, content_type=raw.content_type)
        assert response.status_code in {200, 302, 400}, (response.status_code, response.content[:300])
        if response.status_code == 302 and "code=" in response["Location"]:
            assert response["Location"].startswith(CALLBACK + "?")
            assert UserGrant.objects.filter(user=tenant["user"], client=web.application).exists()
            return
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()
