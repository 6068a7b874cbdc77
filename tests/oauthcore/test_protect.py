"""oauthcore.protect in a Django API and a DRF API: real tokens from Portcullis, keys from its JWKS."""

import time

import pytest
import requests
from jwcrypto import jwt

from oauthcore.constants import AppType
from oauthcore.keys import active_signing_key, rotate_signing_key
from oauthcore.protect import InvalidToken, ProtectedResource, TokenVerifier

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.oauthcore.protect_urls")]

ISSUER = "http://127.0.0.1:8000"
ORDERS = "https://orders.example.com/"
METADATA = "https://orders.example.com/.well-known/oauth-protected-resource"


@pytest.fixture
def protected(live_server, settings, make_api):
    settings.PORTCULLIS_PROTECTED_RESOURCE = {
        "RESOURCE": ORDERS,
        "ISSUER": ISSUER,
        "SCOPES": ["read:orders", "write:orders"],
        "NAME": "Orders API",
        "JWKS_URI": f"{live_server.url}/.well-known/jwks.json",
        "JWKS_MIN_REFETCH_SECONDS": 0,
    }
    make_api(identifier=ORDERS, scopes=[("read:orders", "Read"), ("write:orders", "Write")])
    make_api(identifier="https://billing.example.com/", scopes=[("read:bills", "Read")])
    return live_server.url


@pytest.fixture
def token_for(live_server, actor, make_app, make_grant):
    """A client credentials token from Portcullis' token endpoint, over HTTP."""
    from oauthcore.models import ResourceServer
    from oauthcore.services.applications import application_create

    def issue(audience: str, scope: list[str]) -> str:
        issued = application_create(actor=actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
        make_grant(ResourceServer.objects.get(identifier=audience), client=issued.application, scope=scope)
        response = requests.post(
            f"{live_server.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": issued.application.client_id,
                "client_secret": issued.client_secret,
                "audience": audience,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    return issue


@pytest.mark.parametrize("path", ["/orders/", "/drf/orders"])
def test_a_valid_token_gets_in(protected, token_for, path):
    token = token_for(ORDERS, ["read:orders"])
    response = requests.get(f"{protected}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["for"].endswith("@clients")


@pytest.mark.parametrize("path", ["/orders/", "/drf/orders"])
def test_no_token_is_a_401_pointing_at_the_metadata(protected, path):
    response = requests.get(f"{protected}{path}", timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{METADATA}"')
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code when no credentials were sent


@pytest.mark.parametrize("path", ["/orders/", "/drf/orders"])
def test_a_token_for_another_api_is_invalid_token(protected, token_for, path):
    token = token_for("https://billing.example.com/", ["read:bills"])
    response = requests.get(f"{protected}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert 'error_description="The access token is not for this resource."' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/orders/", "/drf/orders"])
def test_a_token_without_the_scope_is_a_403_insufficient_scope(protected, token_for, path):
    token = token_for(ORDERS, ["write:orders"])
    response = requests.get(f"{protected}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="read:orders"' in challenge
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize("path", ["/orders/", "/drf/orders"])
def test_a_tampered_token_is_refused(protected, token_for, path):
    header, payload, signature = token_for(ORDERS, ["read:orders"]).split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = requests.get(f"{protected}{path}", headers={"Authorization": f"Bearer {tampered}"}, timeout=10)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_metadata_document(protected):
    document = requests.get(f"{protected}/.well-known/oauth-protected-resource", timeout=10).json()
    assert document == {
        "resource": ORDERS,
        "authorization_servers": [ISSUER],
        "jwks_uri": f"{protected}/.well-known/jwks.json",
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["read:orders", "write:orders"],
        "resource_name": "Orders API",
    }


def test_a_rotated_signing_key_is_fetched_when_a_token_names_it(protected, token_for, actor):
    verifier = TokenVerifier(ProtectedResource(ORDERS, ISSUER, jwks_uri=f"{protected}/.well-known/jwks.json"))
    verifier.keys.min_refetch_seconds = 0
    assert verifier.verify(token_for(ORDERS, ["read:orders"])).scopes == {"read:orders"}
    old_kid = active_signing_key().kid
    rotate_signing_key(actor=actor)
    fresh = token_for(ORDERS, ["read:orders"])
    assert jwt.JWT(jwt=fresh).token.jose_header["kid"] != old_kid
    assert verifier.verify(fresh).scopes == {"read:orders"}  # fetched the JWKS again for the new kid


def test_an_expired_or_foreign_token_is_refused(protected, actor):
    verifier = TokenVerifier(ProtectedResource(ORDERS, ISSUER, jwks_uri=f"{protected}/.well-known/jwks.json"))
    key = active_signing_key()

    def signed(**claims):
        base = {
            "iss": ISSUER,
            "aud": ORDERS,
            "sub": "x@clients",
            "client_id": "x",
            "scope": "",
            "exp": time.time() + 60,
        }
        token = jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims={**base, **claims})
        token.make_signed_token(key.jwk)
        return token.serialize()

    assert verifier.verify(signed()).subject == "x@clients"
    for claims, message in [
        ({"exp": int(time.time()) - 3600}, "The access token has expired."),
        ({"iss": "https://evil.example.com"}, "The access token is from another issuer."),
        ({"aud": "https://billing.example.com/"}, "The access token is not for this resource."),
    ]:
        with pytest.raises(InvalidToken) as excinfo:
            verifier.verify(signed(**claims))
        assert excinfo.value.description == message
    id_token = jwt.JWT(header={"alg": "RS256", "kid": key.kid}, claims={"iss": ISSUER, "aud": ORDERS})
    id_token.make_signed_token(key.jwk)
    with pytest.raises(InvalidToken, match="typ at"):
        verifier.verify(id_token.serialize())
