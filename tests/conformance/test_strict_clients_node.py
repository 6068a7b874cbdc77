"""panva's oauth4webapi and openid-client (Node), which validate every response against the RFCs.

Each test runs one scenario of ``node/clients.mjs`` (one Node start-up) and asserts its checks,
each named by the section it exercises.
"""

import json
import subprocess

import pytest

from tests.conformance.conftest import (
    CALLBACK,
    NODE_CLIENTS,
    consented,
    failed,
    node_command,
    run_node,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_rfc8414_3_and_oidc_discovery_4_metadata_pass_both_libraries(tenant):
    """RFC 8414 §3.3 and OpenID Connect Discovery §4.3: the documents at the well-known paths,
    ``issuer`` identical to the URL the client started from."""
    checks = run_node("discovery", {"issuer": tenant.issuer})
    assert failed(checks) == {}
    assert {check["detail"]["issuer"] for check in checks.values()} == {tenant.issuer}


def test_oidc_core_3_1_code_flow_id_token_userinfo_refresh_and_revocation(tenant, browser):
    """OpenID Connect Core §3.1 (code flow; the ID token validated per §3.1.3.7, nonce §3.1.2.1,
    ``iss`` per RFC 9207), §5.3 userinfo (``sub`` matching the ID token), §12 refresh, and
    RFC 7009 §2 revocation, by openid-client for a first-party app."""
    scope = "openid profile email offline_access read:orders"
    consented(tenant, tenant.first_party, tenant.api.identifier, scope.split())
    checks = run_node(
        "oidc-code",
        {
            "issuer": tenant.issuer,
            "client_id": tenant.first_party.client_id,
            "client_secret": tenant.first_party.secret,
            "redirect_uri": CALLBACK,
            "scope": scope,
            "resource": tenant.api.identifier,
            "cookie": session_cookie(browser),
        },
    )
    silent = "oidc_core_3_1_2_6_prompt_none_with_session"
    assert failed(checks, silent) == {}, "issue 14 point 2: prompt=none with a session must answer a code"
    assert failed(checks) == {}
    assert checks["oidc_core_3_1_code_flow"]["detail"]["claims"]["sub"] == tenant.user.user_id
    assert checks["oidc_core_5_3_userinfo"]["detail"]["email"] == "alice@example.com"


def test_rfc6749_4_1_code_flow_pkce_resource_jwt_introspection_and_revocation(tenant, browser):
    """RFC 6749 §4.1 (code, used once §4.1.2, §5.2 invalid_client with a Basic challenge), RFC 7636
    §4.6 (verifier checked), RFC 8707 (``resource``), RFC 9068 §4 (JWT access token), RFC 9207
    (``iss``), RFC 7662 §2.2 and RFC 7009 §2.1, by oauth4webapi for a strict third-party app."""
    consented(tenant, tenant.strict, tenant.api.identifier, ["read:orders", "offline_access"])
    checks = run_node(
        "oauth2-code",
        {
            "issuer": tenant.issuer,
            "client_id": tenant.strict.client_id,
            "client_secret": tenant.strict.secret,
            "redirect_uri": CALLBACK,
            "scope": "read:orders offline_access",
            "resource": tenant.api.identifier,
            "api_client_id": tenant.api_client.client_id,
            "api_client_secret": tenant.api_client.secret,
            "cookie": session_cookie(browser),
        },
    )
    basic = "rfc6749_5_2_invalid_client_basic_challenge"
    assert failed(checks, basic) == {}, "issue 14 point 3: invalid_client over Basic is challenged with Basic"
    assert failed(checks) == {}
    claims = checks["rfc9068_2_jwt_access_token"]["detail"]
    assert claims["aud"] == tenant.api.identifier and claims["client_id"] == tenant.strict.client_id
    assert checks["rfc7662_2_2_introspection_active"]["detail"]["sub"] == tenant.user.user_id


def test_rfc6749_4_4_client_credentials_with_resource_is_an_rfc9068_token(tenant):
    """RFC 6749 §4.4, RFC 8707 §2 (``resource`` is ``aud``) and RFC 9068 §2 by oauth4webapi."""
    checks = run_node(
        "client-credentials",
        {
            "issuer": tenant.issuer,
            "client_id": tenant.m2m.client_id,
            "client_secret": tenant.m2m.secret,
            "resource": tenant.api.identifier,
        },
    )
    assert failed(checks) == {}
    assert checks["rfc9068_2_jwt_access_token"]["detail"]["sub"] == f"{tenant.m2m.client_id}@clients"


def test_rfc8628_3_device_flow_with_openid_gives_a_first_party_app_an_id_token(tenant, browser):
    """RFC 8628 §3.2 and §3.5 by openid-client, which polls at the interval it is told; the person
    approves at /activate meanwhile. With ``openid``, a first-party app gets an ID token (OpenID
    Connect Core §3.1.3.3), as in the code flow."""
    config = {
        "issuer": tenant.issuer,
        "client_id": tenant.device.client_id,
        "scope": "openid read:orders",
        "resource": tenant.api.identifier,
    }
    process = subprocess.Popen(
        node_command("device"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    process.stdin.write(json.dumps(config))
    process.stdin.close()
    user_code = json.loads(process.stdout.readline())["user_code"]
    assert user_code, process.stdout.read()
    approve_device(browser, user_code)
    out = process.stdout.read()
    assert process.wait(timeout=60) == 0, process.stderr.read()
    checks = json.loads(out.strip().splitlines()[-1])["checks"]
    assert failed(checks) == {}
    tokens = checks["rfc8628_3_5_polling_until_approved"]["detail"]
    assert "read:orders" in tokens["scope"].split()
    assert tokens["id_token"], "issue 14 point 7: the device flow with openid gives first-party apps an ID token"


def approve_device(browser, user_code: str) -> None:
    from tests.e2e.oauth_helpers import CSRF_RE

    form = browser.session.get(browser.url("/activate"))
    consent = browser.session.post(
        form.url,
        data={"csrfmiddlewaretoken": CSRF_RE.search(form.text).group(1), "user_code": user_code},
        headers={"Referer": form.url},
    )
    assert 'value="accept"' in consent.text, consent.text
    done = browser.session.post(
        form.url,
        data={
            "csrfmiddlewaretoken": CSRF_RE.search(consent.text).group(1),
            "user_code": user_code,
            "decision": "accept",
            "scope": ["openid", "read:orders"],
        },
        headers={"Referer": form.url},
    )
    assert done.status_code == 200, done.text


def test_rfc7591_3_2_1_registration_response_passes_oauth4webapi(tenant, registration_on):
    """RFC 7591 §3.2.1: 201 with ``client_id`` and the registered metadata, by oauth4webapi."""
    metadata = {
        "client_name": "Conformance agent",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    checks = run_node("registration", {"issuer": tenant.issuer, "metadata": metadata})
    assert failed(checks) == {}
    registered = checks["rfc7591_3_2_1_registration"]["detail"]
    assert registered["client_id"].startswith("tpc_") and registered["redirect_uris"] == [CALLBACK]


@pytest.mark.urls("tests.oauthcore.protect_urls")
def test_rfc9728_3_protected_resource_metadata_passes_oauth4webapi(tenant, settings):
    """RFC 9728 §3 (the metadata at the well-known path, ``resource`` identical to the identifier)
    and §5.1 (the 401 challenge names it), for an API protected by ``oauthcore.protect``."""
    resource = f"{tenant.issuer}/"
    settings.PORTCULLIS_PROTECTED_RESOURCE = {
        "RESOURCE": resource,
        "ISSUER": tenant.issuer,
        "SCOPES": ["read:orders"],
        "NAME": "Orders API",
    }
    checks = run_node(
        "protected-resource", {"issuer": tenant.issuer, "resource": resource, "api_url": f"{tenant.issuer}/orders/"}
    )
    assert failed(checks) == {}
    challenge = checks["rfc9728_5_1_challenge_names_the_metadata"]["detail"]
    assert challenge["resource_metadata"] == f"{tenant.issuer}/.well-known/oauth-protected-resource"


def test_the_node_clients_are_pinned_exactly():
    """The suite runs the very versions it was written against; the lockfile names no registry."""
    package = json.loads((NODE_CLIENTS / "package.json").read_text())
    assert all(version[0].isdigit() for version in package["dependencies"].values())
    assert "resolved" not in (NODE_CLIENTS / "package-lock.json").read_text()
