"""The hot paths' statements, counted: they must not grow with the tenant, and stay within budget.

Budgets are what a request costs once the process has read the policy (``oauthcore.policy_cache``):
"warm". Every statement is counted, BEGIN, COMMIT and savepoints included.
"""

import base64
import hashlib
from urllib.parse import urlencode

import pytest

from oauthcore.constants import AppType, SubjectType
from oauthcore.keys import active_signing_key
from oauthcore.models import AccessToken, Grant
from oauthcore.services.applications import application_create
from oauthcore.services.resource_servers import resource_server_update
from oauthcore.shared_cache import redis_backend
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def m2m(actor, crowded, make_grant):
    issued = application_create(actor=actor, name="m2m", app_type=AppType.NON_INTERACTIVE, is_first_party=False)
    make_grant(crowded, client=issued.application, scope=["read:things"])
    return {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "audience": crowded.identifier,
    }


def form_post(client, data: dict):
    """As OAuth clients send it (RFC 6749 §4.4.2): a form body, which takes the short path."""
    return client.post("/oauth/token", urlencode(data), content_type="application/x-www-form-urlencoded")


# Without Redis as the shared cache a token is counted in the table at once (one upsert); with it,
# in Redis, flushed into the table in batches (oauthcore.activity).
COUNTING = 0 if redis_backend() else 1


def test_client_credentials_with_a_warm_cache_runs_no_statement(
    client, m2m, django_assert_num_queries, django_assert_max_num_queries
):
    active_signing_key()  # made on first use: not what this counts
    # cold: the client (with the policy stamp), then the API, its scopes and the grants
    with django_assert_max_num_queries(5):
        assert form_post(client, m2m).status_code == 200
    form_post(client, m2m)  # the process keeps the client under the shared stamp seeded meanwhile
    # warm: the client and the policy come from the process, the token is signed, not stored
    with django_assert_num_queries(COUNTING) as warm:
        response = form_post(client, m2m)
    assert response.status_code == 200 and response.json()["scope"] == "read:things"
    assert all("oauthcore_tokenactivity" in query["sql"] for query in warm.captured_queries)
    assert not AccessToken.objects.exists()


def test_the_generic_path_reads_only_the_client(client, m2m, django_assert_num_queries):
    """A multipart body goes through oauthlib: the client is read (with the policy stamp), the
    policy comes from the process, and nothing is stored."""
    active_signing_key()
    client.post("/oauth/token", m2m)
    with django_assert_num_queries(1 + COUNTING) as warm:
        response = client.post("/oauth/token", m2m)
    assert response.status_code == 200 and response.json()["scope"] == "read:things"
    assert "policyversion" in warm.captured_queries[0]["sql"].lower()


@pytest.mark.django_db(transaction=True)
def test_client_credentials_outside_a_test_transaction_runs_no_statement(client, m2m, django_assert_num_queries):
    """As in production: no transaction either."""
    form_post(client, m2m)
    form_post(client, m2m)
    with django_assert_num_queries(COUNTING):
        assert form_post(client, m2m).status_code == 200


def test_a_denied_client_credentials_request_is_audited_within_budget(
    client, m2m, make_api, django_assert_max_num_queries
):
    refused = {**m2m, "audience": make_api().identifier}  # an API it has no grant for
    client.post("/oauth/token", refused)
    # the client; then the audit entry in its savepoint (SAVEPOINT, RELEASE): the chain head taken
    # (UPDATE … RETURNING), the entry's INSERT, the head's new hash
    with django_assert_max_num_queries(6):
        response = client.post("/oauth/token", refused)
    assert response.status_code == 403 and response.json()["error"] == "access_denied"


def test_introspection_takes_1_statement(client, actor, m2m, crowded, django_assert_num_queries):
    backend = application_create(actor=actor, name="API backend", app_type=AppType.NON_INTERACTIVE)
    resource_server_update(actor=actor, resource_server=crowded, client=backend.application)
    token = client.post("/oauth/token", m2m).json()["access_token"]
    credentials = f"{backend.application.client_id}:{backend.client_secret}".encode()
    caller = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}
    client.post("/oauth/introspect", {"token": token}, **caller)
    client.post("/oauth/introspect", {"token": "unknown"}, **caller)  # SQLite checks its JSON support once
    with django_assert_num_queries(1) as statements:  # the caller, and the token with its API's owner
        response = client.post("/oauth/introspect", {"token": token}, **caller)
    assert response.json()["active"] is True and response.json()["scope"] == "read:things"
    # a client-credentials token is not stored: its revocation and "not before" stamps are read
    assert "oauthcore_revokedaccesstoken" in statements.captured_queries[0]["sql"]
    assert "oauthcore_accesscutoff" in statements.captured_queries[0]["sql"]
    with django_assert_num_queries(1):  # an unknown token costs no more
        assert client.post("/oauth/introspect", {"token": "unknown"}, **caller).json() == {"active": False}


def test_authorize_with_stored_consent_takes_at_most_6_statements(
    client, partner_web, crowded, django_assert_max_num_queries
):
    issued, user = partner_web
    client.force_login(user)
    path = authorize_path(issued.application, crowded.identifier)
    code_from(client.get(path))
    # the client (twice: oauthlib validates the request again to answer it), the session, the user
    # with their connection, the stored consent, the code's INSERT
    with django_assert_max_num_queries(6):
        code = code_from(client.get(path))
    assert Grant.objects.filter(code=code, user=user).exists()


def test_code_exchange_takes_at_most_8_statements(client, partner_web, crowded, django_assert_max_num_queries):
    issued, user = partner_web
    client.force_login(user)
    path = authorize_path(issued.application, crowded.identifier)
    client.post("/oauth/token", exchange(issued, code_from(client.get(path))))
    code = code_from(client.get(path))
    # the code (read once), the client; then in one transaction (here a savepoint): DOT's resource
    # check, the token INSERT, the code's DELETE, the activity count's upsert (oauthcore.activity)
    with django_assert_max_num_queries(8):
        response = client.post("/oauth/token", exchange(issued, code))
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read:things"
    assert not Grant.objects.filter(code=code).exists()


def test_a_code_is_used_up_with_the_token_it_buys(client, partner_web, crowded):
    """A second exchange of the same code is refused, leaves no token of its own behind, and takes
    back what the first bought (RFC 6749 §4.1.2)."""
    issued, user = partner_web
    client.force_login(user)
    data = exchange(issued, code_from(client.get(authorize_path(issued.application, crowded.identifier))))
    assert client.post("/oauth/token", data).status_code == 200
    assert AccessToken.objects.filter(application=issued.application).count() == 1
    again = client.post("/oauth/token", data)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.filter(application=issued.application).exists()


def test_a_code_is_only_good_for_its_own_client(client, partner_web, crowded, actor, make_grant):
    issued, user = partner_web
    other = application_create(
        actor=actor, name="Other web", app_type=AppType.REGULAR_WEB, is_first_party=False, callbacks=[CALLBACK]
    )
    make_grant(crowded, client=other.application, scope=["read:things"], subject_type=SubjectType.USER)
    client.force_login(user)
    code = code_from(client.get(authorize_path(issued.application, crowded.identifier)))
    stolen = client.post("/oauth/token", exchange(other, code))
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert Grant.objects.filter(code=code).exists()  # still there for its own client


def test_introspection_describes_user_tokens_and_refuses_expired_ones(client, actor, partner_web, crowded):
    issued, user = partner_web
    backend = application_create(actor=actor, name="API backend", app_type=AppType.NON_INTERACTIVE)
    resource_server_update(actor=actor, resource_server=crowded, client=backend.application)
    client.force_login(user)
    code = code_from(client.get(authorize_path(issued.application, crowded.identifier)))
    token = client.post("/oauth/token", exchange(issued, code)).json()["access_token"]
    credentials = f"{backend.application.client_id}:{backend.client_secret}".encode()
    caller = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}
    stored = AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest())
    answer = client.post("/oauth/introspect", {"token": token}, **caller).json()
    assert answer == {
        "active": True,
        "scope": "read:things",
        "client_id": issued.application.client_id,
        "sub": user.user_id,
        "aud": crowded.identifier,
        "iss": "http://127.0.0.1:8000",
        "exp": int(stored.expires.timestamp()),
        "iat": int(stored.created.timestamp()),
        "token_type": "Bearer",
    }
    AccessToken.objects.filter(pk=stored.pk).update(expires=stored.created)
    assert client.post("/oauth/introspect", {"token": token}, **caller).json() == {"active": False}
    # credentials in the body rather than Basic: the same answer
    body = {"client_id": backend.application.client_id, "client_secret": backend.client_secret, "token": "x"}
    assert client.post("/oauth/introspect", body).json() == {"active": False}
    assert client.post("/oauth/introspect", {**body, "client_secret": "wrong"}).status_code == 401


def test_app_authorized_still_reaches_its_listeners(client, m2m):
    """The token is read back for DOT's app_authorized signal only when something listens to it."""
    from oauth2_provider.signals import app_authorized

    received = []

    def listener(sender, request, token, **kwargs):
        received.append(token)

    app_authorized.connect(listener)
    try:
        response = client.post("/oauth/token", m2m)
    finally:
        app_authorized.disconnect(listener)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert [token.application.client_id for token in received] == [m2m["client_id"]]
