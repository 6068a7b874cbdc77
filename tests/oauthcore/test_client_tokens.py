"""Client-credentials access tokens are signed, never stored (``oauthcore.client_tokens``).

What a resource server and a client notice: a token is good until it expires, unless its client
revokes it (RFC 7009) or what it stands on is taken away (its grant deleted or narrowed, its app
deleted or suspended, its API deleted), and then it is inactive at introspection (RFC 7662 §2.2)
and refused by the Management API from the very next request on. Requests go in as OAuth clients
send them (a form body), which takes the short path, and as a multipart body, which takes
oauthlib's: both must answer alike.
"""

import base64
import dataclasses
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests

from oauthcore.access_tokens import jti_issued_ms
from oauthcore.audit import Actor
from oauthcore.client_tokens import forget_withdrawals, read_client_token, withdraw_client_tokens
from oauthcore.constants import AppType
from oauthcore.keys import rotate_signing_key
from oauthcore.models import AccessCutoff, AccessToken, ClientGrant, RevokedAccessToken
from oauthcore.services.applications import (
    application_create,
    application_delete,
    application_rotate_secret,
    application_update,
    applications_set_suspended,
)
from oauthcore.services.client_grants import client_grant_delete, client_grant_update
from oauthcore.services.resource_servers import resource_server_delete

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def basic(issued) -> dict:
    credentials = f"{issued.application.client_id}:{issued.client_secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}


def token_for(client, tenant, **extra) -> dict:
    body = {"grant_type": "client_credentials", "audience": tenant.api.identifier, **extra}
    response = client.post("/oauth/token", urlencode(body), content_type=FORM, **basic(tenant.m2m))
    assert response.status_code == 200, response.content
    return response.json()


def introspect(client, tenant, token: str) -> dict:
    response = client.post("/oauth/introspect", {"token": token}, **basic(tenant.api_client))
    assert response.status_code == 200
    return response.json()


def claims_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def header_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def test_issuing_stores_no_token_and_the_token_carries_what_checking_it_needs(client, oauth_tenant):
    issued = token_for(client, oauth_tenant)
    assert not AccessToken.objects.exists()
    claims = claims_of(issued["access_token"])
    assert claims["gty"] == "client-credentials" and claims["sub"] == f"{claims['client_id']}@clients"
    # the jti is time-ordered: its millisecond of issue falls within the second of iat
    assert claims["iat"] * 1000 <= jti_issued_ms(claims["jti"]) < (claims["iat"] + 1) * 1000
    assert introspect(client, oauth_tenant, issued["access_token"]) == {
        "active": True,
        "scope": "read:things",
        "client_id": oauth_tenant.m2m.application.client_id,
        "sub": claims["sub"],
        "aud": oauth_tenant.api.identifier,
        "iss": claims["iss"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "token_type": "Bearer",
    }


def test_rfc7009_revocation_by_its_own_client_makes_it_inactive(client, oauth_tenant, actor):
    token = token_for(client, oauth_tenant)["access_token"]
    stranger = application_create(actor=actor, name="Stranger", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    # RFC 7009 §2.1: another client's revocation is answered 200 and changes nothing
    assert client.post("/oauth/revoke", {"token": token}, **basic(stranger)).status_code == 200
    assert introspect(client, oauth_tenant, token)["active"] is True
    assert client.post("/oauth/revoke", {"token": token}, **basic(oauth_tenant.m2m)).status_code == 200
    assert introspect(client, oauth_tenant, token) == {"active": False}
    assert RevokedAccessToken.objects.filter(jti=claims_of(token)["jti"]).exists()
    # revoking again is still 200 (§2.2), and another token of the same client is untouched
    assert client.post("/oauth/revoke", {"token": token}, **basic(oauth_tenant.m2m)).status_code == 200
    assert introspect(client, oauth_tenant, token_for(client, oauth_tenant)["access_token"])["active"] is True


WITHDRAWALS = {
    "grant deleted": lambda tenant, actor: client_grant_delete(actor=actor, grant=_grant(tenant)),
    "grant narrowed": lambda tenant, actor: client_grant_update(actor=actor, grant=_grant(tenant), scope=[]),
    "app suspended": lambda tenant, actor: applications_set_suspended(
        actor=actor, applications=_apps(tenant), suspended=True, reason="owner suspended"
    ),
    "app deleted": lambda tenant, actor: application_delete(actor=actor, application=tenant.m2m.application),
    "API deleted": lambda tenant, actor: resource_server_delete(actor=actor, resource_server=tenant.api),
    "client credentials taken from the app": lambda tenant, actor: application_update(
        actor=actor, application=tenant.m2m.application, grant_types=[]
    ),
    "the app's way of authenticating changed": lambda tenant, actor: application_update(
        actor=actor, application=tenant.m2m.application, token_endpoint_auth_method="client_secret_basic"
    ),
}


def _grant(tenant) -> ClientGrant:
    return ClientGrant.objects.get(client=tenant.m2m.application, resource_server=tenant.api)


def _apps(tenant):
    from oauthcore.models import Application

    return Application.objects.filter(pk=tenant.m2m.application.pk)


@pytest.mark.parametrize("change", WITHDRAWALS)
def test_what_a_token_stands_on_taken_away_makes_it_inactive_on_the_next_request(client, oauth_tenant, actor, change):
    token = token_for(client, oauth_tenant)["access_token"]
    assert introspect(client, oauth_tenant, token)["active"] is True
    WITHDRAWALS[change](oauth_tenant, actor)
    if change == "API deleted":  # its own client can no longer be told anything about it either
        assert client.post("/oauth/introspect", {"token": token}, **basic(oauth_tenant.api_client)).json() == {
            "active": False
        }
    else:
        assert introspect(client, oauth_tenant, token) == {"active": False}


def test_widening_a_grant_or_renaming_the_app_withdraws_nothing(client, oauth_tenant, actor):
    token = token_for(client, oauth_tenant)["access_token"]
    client_grant_update(actor=actor, grant=_grant(oauth_tenant), scope=[], allow_all_scopes=True)
    application_update(actor=actor, application=oauth_tenant.m2m.application, name="Renamed")
    assert introspect(client, oauth_tenant, token)["active"] is True
    assert not AccessCutoff.objects.exists()


def test_a_token_issued_just_after_a_withdrawal_is_good(client, oauth_tenant, actor):
    """The stamp compares milliseconds, not the whole seconds of iat: no token issued after it is
    refused because it shares its second."""
    old = token_for(client, oauth_tenant)["access_token"]
    client_grant_update(actor=actor, grant=_grant(oauth_tenant), scope=["read:things"], allow_all_scopes=False)
    withdraw_client_tokens(client_ids=[oauth_tenant.m2m.application.client_id], audience=oauth_tenant.api.identifier)
    new = token_for(client, oauth_tenant)["access_token"]
    assert introspect(client, oauth_tenant, old) == {"active": False}
    assert introspect(client, oauth_tenant, new)["active"] is True


def test_forged_altered_and_expired_tokens_are_inactive(client, oauth_tenant):
    token = token_for(client, oauth_tenant)["access_token"]
    header, claims, signature = token.split(".")
    widened = base64.urlsafe_b64encode(json.dumps({**claims_of(token), "scope": "admin"}).encode()).rstrip(b"=")
    assert introspect(client, oauth_tenant, f"{header}.{widened.decode()}.{signature}") == {"active": False}
    unsigned = base64.urlsafe_b64encode(json.dumps({**header_of(token), "alg": "none"}).encode()).rstrip(b"=")
    assert introspect(client, oauth_tenant, f"{unsigned.decode()}.{claims}.") == {"active": False}
    assert read_client_token(token, now=claims_of(token)["exp"]) is None  # expired at its exp
    assert introspect(client, oauth_tenant, token + "x")["active"] is False


def test_the_management_api_refuses_a_withdrawn_token(client, actor, make_grant):
    from oauthcore.models import ResourceServer

    management = ResourceServer.objects.get(is_system=True, identifier__endswith="/api/v2/")
    machine = application_create(actor=actor, name="Automation", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(management, client=machine.application, scope=["read:clients"])
    body = {"grant_type": "client_credentials", "audience": management.identifier}
    token = client.post("/oauth/token", urlencode(body), content_type=FORM, **basic(machine)).json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v2/clients", **bearer).status_code == 200
    client.post("/oauth/revoke", {"token": token}, **basic(machine))
    refused = client.get("/api/v2/clients", **bearer)
    assert refused.status_code == 401 and refused.json()["message"] == "Invalid token"


def test_the_short_path_sees_a_rotated_secret_and_a_suspension_at_once(client, oauth_tenant, actor):
    token_for(client, oauth_tenant)  # the client is now kept by this process
    old_secret = oauth_tenant.m2m.client_secret
    new_secret = application_rotate_secret(actor=actor, application=oauth_tenant.m2m.application)
    oauth_tenant.m2m = dataclasses.replace(oauth_tenant.m2m, client_secret=new_secret)
    body = urlencode({"grant_type": "client_credentials", "audience": oauth_tenant.api.identifier})
    credentials = f"{oauth_tenant.m2m.application.client_id}:{old_secret}".encode()
    stale = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}
    refused = client.post("/oauth/token", body, content_type=FORM, **stale)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    token_for(client, oauth_tenant)  # the new secret works
    applications_set_suspended(actor=actor, applications=_apps(oauth_tenant), suspended=True, reason="owner suspended")
    denied = client.post("/oauth/token", body, content_type=FORM, **basic(oauth_tenant.m2m))
    assert denied.status_code == 403 and denied.json()["error"] == "unauthorized_client"


def test_after_a_key_rotation_new_tokens_use_the_new_key_and_old_ones_stay_good(client, oauth_tenant):
    old = token_for(client, oauth_tenant)["access_token"]
    new_key = rotate_signing_key(actor=Actor.system("test"))
    new = token_for(client, oauth_tenant)["access_token"]
    assert header_of(new)["kid"] == new_key.kid != header_of(old)["kid"]
    assert introspect(client, oauth_tenant, old)["active"] is True
    assert introspect(client, oauth_tenant, new)["active"] is True


def test_a_key_rotated_in_just_after_a_reload_is_accepted_at_once(client, oauth_tenant):
    """A made-up kid makes this process re-read the published keys; a rotation a moment later
    must not wait out the reload's rate limit: the rotation changed the shared stamp."""
    token = token_for(client, oauth_tenant)["access_token"]
    _header, claims, signature = token.split(".")
    made_up = base64.urlsafe_b64encode(json.dumps({**header_of(token), "kid": "made-up"}).encode()).rstrip(b"=")
    assert introspect(client, oauth_tenant, f"{made_up.decode()}.{claims}.{signature}") == {"active": False}
    rotate_signing_key(actor=Actor.system("test"))
    assert introspect(client, oauth_tenant, token_for(client, oauth_tenant)["access_token"])["active"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_checks_of_a_new_key_all_find_it(live_server, oauth_tenant):
    """A threaded server (this live server, gunicorn's gthread workers) meets a new key on several
    requests at once: each must wait for the one reload, not call a good token inactive."""
    rotate_signing_key(actor=Actor.system("test"))
    body = {"grant_type": "client_credentials", "audience": oauth_tenant.api.identifier}
    m2m, api_client = oauth_tenant.m2m, oauth_tenant.api_client
    issued = requests.post(
        f"{live_server.url}/oauth/token", data=body, auth=(m2m.application.client_id, m2m.client_secret), timeout=10
    )
    token = issued.json()["access_token"]
    at_once = threading.Barrier(12)

    def check(_n) -> bool:
        at_once.wait(timeout=10)
        answer = requests.post(
            f"{live_server.url}/oauth/introspect",
            data={"token": token},
            auth=(api_client.application.client_id, api_client.client_secret),
            timeout=10,
        )
        return answer.json()["active"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(check, range(12))) == [True] * 12


def answer(response) -> tuple:
    return response.status_code, response["Cache-Control"], response.get("Pragma"), response.get("WWW-Authenticate")


def test_the_short_path_and_oauthlibs_answer_alike(client, oauth_tenant, make_api):
    """The same request as a form (the short path) and as a multipart body (oauthlib's)."""
    other_api = make_api(identifier="https://other.example.com/")
    cases = {
        "granted": {"audience": oauth_tenant.api.identifier},
        "a scope it has": {"audience": oauth_tenant.api.identifier, "scope": "read:things"},
        "no grant for the API": {"audience": other_api.identifier},
        "an unknown API": {"audience": "https://unknown.example.com/"},
    }
    for name, extra in cases.items():
        data = {"grant_type": "client_credentials", **extra}
        short = client.post("/oauth/token", urlencode(data), content_type=FORM, **basic(oauth_tenant.m2m))
        generic = client.post("/oauth/token", data, **basic(oauth_tenant.m2m))
        assert answer(short) == answer(generic), name
        short_body, generic_body = short.json(), generic.json()
        if short.status_code == 200:
            assert short_body.keys() == generic_body.keys() == {"access_token", "expires_in", "token_type", "scope"}
            short_body.pop("access_token"), generic_body.pop("access_token")
        assert short_body == generic_body, name


def test_withdrawals_are_forgotten_once_every_token_they_cover_has_expired(oauth_tenant):
    now = time.time()
    RevokedAccessToken.objects.create(jti="a" * 32, client_id="c", expires="2000-01-01T00:00:00Z")
    withdraw_client_tokens(client_ids=["c"], audience="https://orders.example.com/")
    forget_withdrawals(now=now, longest_lifetime=3600)
    assert not RevokedAccessToken.objects.exists() and AccessCutoff.objects.count() == 1
    forget_withdrawals(now=now + 3601, longest_lifetime=3600)
    assert not AccessCutoff.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_console_counts_the_tokens_it_no_longer_stores(client, admin_client, oauth_tenant):
    """Issued tokens appear under Token activity, per minute, app and API, as soon as the page is
    opened (what Redis still holds is flushed first)."""
    for _ in range(3):
        token_for(client, oauth_tenant)
    page = admin_client.get("/admin/oauthcore/tokenactivity/")
    assert page.status_code == 200
    rows = page.context["cl"].result_list
    # one row, or two when the three straddle a minute
    assert {(row.client_id, row.audience) for row in rows} == {
        (oauth_tenant.m2m.application.client_id, oauth_tenant.api.identifier)
    }
    assert sum(row.issued for row in rows) == 3 and len(rows) <= 2


def test_userinfo_tells_a_client_token_it_lacks_openid_and_a_revoked_one_it_is_invalid(client, oauth_tenant):
    """RFC 6750 §3.1: a valid token without the scope is 403 insufficient_scope; a revoked one 401."""
    token = token_for(client, oauth_tenant)["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    lacking = client.get("/userinfo", **bearer)
    assert lacking.status_code == 403 and 'error="insufficient_scope"' in lacking["WWW-Authenticate"]
    client.post("/oauth/revoke", {"token": token}, **basic(oauth_tenant.m2m))
    revoked = client.get("/userinfo", **bearer)
    assert revoked.status_code == 401 and 'error="invalid_token"' in revoked["WWW-Authenticate"]


@pytest.mark.django_db(transaction=True)
def test_the_short_path_keeps_the_rate_limit_and_counts_only_tokens_issued(client, oauth_tenant, settings):
    """RFC 6585 §4: over the client's limit, 429 with Retry-After, in the OAuth error shape; the
    refused request issues (and counts) no token."""
    from oauthcore.activity import flush_token_activity
    from oauthcore.models import TokenActivity

    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"token": "2/m"}}
    token_for(client, oauth_tenant)
    token_for(client, oauth_tenant)
    body = urlencode({"grant_type": "client_credentials", "audience": oauth_tenant.api.identifier})
    refused = client.post("/oauth/token", body, content_type=FORM, **basic(oauth_tenant.m2m))
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_requests"
    assert int(refused["Retry-After"]) >= 1 and refused["Cache-Control"] == "no-store"
    flush_token_activity(include_current_minute=True)
    issued = TokenActivity.objects.filter(client_id=oauth_tenant.m2m.application.client_id)
    assert sum(row.issued for row in issued) == 2
