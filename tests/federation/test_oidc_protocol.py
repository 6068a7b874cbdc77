"""The oidc strategy against a real OpenID provider (panva's oidc-provider): the authorization code
flow with PKCE (OpenID Connect Core 1.0, 3.1; RFC 7636), signed in at over HTTP as a person would."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from oauthcore.federation.base import FederationError
from tests.federation.oidc_idp import BASIC_CLIENT, POST_CLIENT

pytestmark = pytest.mark.django_db

CALLBACK = "http://127.0.0.1:8000/login/callback"


@pytest.fixture
def acme(identity_provider, make_oidc_connection):
    def make(client_id=BASIC_CLIENT, **options):
        return make_oidc_connection(
            discovery_url=identity_provider.discovery_url,
            client_id=client_id,
            client_secret=identity_provider.clients[client_id],
            **options,
        )

    return make


def test_begin_sends_the_browser_to_the_provider_with_pkce_and_a_nonce(oidc, acme, rf, state, identity_provider):
    """Core 3.1.2.1 (response_type, client_id, redirect_uri, scope, state, nonce); RFC 7636 4.3."""
    response, data = oidc.begin(rf.get("/login/connection/acme"), acme(), state=state)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{identity_provider.issuer}/auth"
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == BASIC_CLIENT
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "openid profile email"
    assert query["state"] == state
    assert query["nonce"] == data["nonce"] and len(data["nonce"]) >= 32
    challenge = base64.urlsafe_b64encode(hashlib.sha256(data["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode()
    assert query["code_challenge_method"] == "S256"
    assert data["code_verifier"] not in response["Location"]

    _, again = oidc.begin(rf.get("/login/connection/acme"), acme(name="acme-2"), state=state)
    assert again["nonce"] != data["nonce"] and again["code_verifier"] != data["code_verifier"]


def test_a_sign_in_at_the_provider_gives_the_profile_of_its_id_token(
    oidc, acme, rf, state, identity_provider, callback
):
    connection = acme()
    response, data = oidc.begin(rf.get("/"), connection, state=state)

    back = identity_provider.sign_in(response["Location"], username="jane")
    assert back.startswith(CALLBACK) and parse_qs(urlsplit(back).query)["state"] == [state]
    profile = oidc.complete(callback(back), connection, flow=data)

    assert profile.subject == "jane"
    assert profile.attributes == {
        "email": "jane@acme.test",
        "email_verified": True,
        "name": "Jane Doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "nickname": "jd",
    }
    assert profile.raw["iss"] == identity_provider.issuer and profile.raw["aud"] == BASIC_CLIENT


def test_client_secret_post_when_the_provider_registered_the_client_so(
    oidc, acme, rf, state, identity_provider, callback
):
    """RFC 6749 2.3.1: the secret in the form; the provider refuses it in the header for this client."""
    connection = acme(client_id=POST_CLIENT, token_endpoint_auth_method="client_secret_post")
    response, data = oidc.begin(rf.get("/"), connection, state=state)

    profile = oidc.complete(callback(identity_provider.sign_in(response["Location"])), connection, flow=data)

    assert profile.subject == "jane"


def test_use_map_reads_claims_from_the_id_token_and_the_userinfo_response(
    oidc, acme, rf, state, identity_provider, callback
):
    """Core 5.3: the department is released by userinfo only, so the map must have asked for it."""
    attribute_map = {
        "mapping_mode": "use_map",
        "attributes": {
            "email": "${context.tokenset.id_token.mail}",
            "nickname": "${context.userinfo.department}",
            "email_verified": True,
        },
    }
    connection = acme(scope="openid profile email directory", attribute_map=attribute_map)
    response, data = oidc.begin(rf.get("/"), connection, state=state)

    profile = oidc.complete(callback(identity_provider.sign_in(response["Location"])), connection, flow=data)

    assert profile.attributes == {"email": "jane.doe@corp.acme.test", "nickname": "Research", "email_verified": True}


def test_basic_profile_takes_what_the_id_token_leaves_out_from_userinfo(
    oidc, acme, rf, state, identity_provider, callback
):
    connection = acme()
    response, data = oidc.begin(rf.get("/"), connection, state=state)

    back = identity_provider.sign_in(response["Location"], username="bob")
    profile = oidc.complete(callback(back), connection, flow=data)

    assert profile.subject == "bob"
    assert profile.attributes == {"email": "bob@acme.test", "email_verified": True, "name": "Bob Roe"}


def test_cancelling_at_the_provider_is_said_on_our_page(oidc, acme, rf, state, identity_provider, callback):
    """Core 3.1.2.6: the provider's error answer, quoted to the user."""
    connection = acme()
    response, data = oidc.begin(rf.get("/"), connection, state=state)

    back = identity_provider.sign_in(response["Location"], cancel=True)
    with pytest.raises(FederationError) as refused:
        oidc.complete(callback(back), connection, flow=data)

    assert refused.value.reason == "access_denied"
    assert "access_denied: The user cancelled the sign-in" in refused.value.message


def test_a_code_is_used_once(oidc, acme, rf, state, identity_provider, callback):
    """RFC 6749 4.1.2: the provider refuses a code already exchanged, and so the second sign-in fails."""
    connection = acme()
    response, data = oidc.begin(rf.get("/"), connection, state=state)
    back = identity_provider.sign_in(response["Location"])
    oidc.complete(callback(back), connection, flow=data)

    with pytest.raises(FederationError) as refused:
        oidc.complete(callback(back), connection, flow=data)

    assert refused.value.reason == "upstream_error"
    assert "invalid_grant" in refused.value.message


def test_a_code_injected_into_another_sign_in_is_refused(oidc, acme, rf, identity_provider, callback):
    """RFC 9700 4.5 (code injection): an attacker's code, carried into the victim's sign-in, meets
    the victim's PKCE verifier, which does not match its challenge (RFC 7636 4.6)."""
    connection = acme()
    attacker_response, _ = oidc.begin(rf.get("/"), connection, state="attacker-state")
    _, victim_flow = oidc.begin(rf.get("/"), connection, state="victim-state")
    stolen = identity_provider.sign_in(attacker_response["Location"], username="bob")
    code = parse_qs(urlsplit(stolen).query)["code"][0]

    with pytest.raises(FederationError) as refused:
        oidc.complete(
            callback({"code": code, "state": "victim-state", "iss": identity_provider.issuer}),
            connection,
            flow=victim_flow,
        )

    assert refused.value.reason == "upstream_error"
    assert "invalid_grant" in refused.value.message


def test_an_answer_without_the_providers_iss_is_refused(oidc, acme, rf, state, identity_provider, callback):
    """RFC 9207 2.4: the provider says it sends iss, so an answer without it may come from another."""
    connection = acme()
    assert connection.options["oidc_metadata"]["authorization_response_iss_parameter_supported"] is True
    response, data = oidc.begin(rf.get("/"), connection, state=state)
    back = identity_provider.sign_in(response["Location"])
    query = {name: values[0] for name, values in parse_qs(urlsplit(back).query).items()}

    for iss in (None, "https://evil.example"):
        answer = {**query, "iss": iss} if iss else {k: v for k, v in query.items() if k != "iss"}
        with pytest.raises(FederationError) as refused:
            oidc.complete(callback(answer), connection, flow=data)
        assert refused.value.reason == "wrong_issuer"
    assert oidc.complete(callback(query), connection, flow=data).subject == "jane"


def test_the_provider_is_the_version_the_bench_measures_pinned_exactly():
    """The tests sign in at the very oidc-provider they were written against; no registry is named."""
    import json
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    ours = json.loads((tests / "federation/oidc_provider/package.json").read_text())["dependencies"]
    bench = json.loads((tests / "bench/oidc_provider/package.json").read_text())["dependencies"]
    assert ours == bench == {"oidc-provider": "9.13.3"}
    assert "resolved" not in (tests / "federation/oidc_provider/package-lock.json").read_text()
