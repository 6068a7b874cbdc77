"""The access-decision matrix once more, end to end: authlib against the live server.

Every combination of app kind, user and client policy, grants and API kind from
``tests/policy_cases.py`` is set up as real rows; the authorize cases are opened by a logged-in
browser (an allowed request reaches the consent screen offering exactly the effective scopes), the
client cases ask the token endpoint for a client-credentials token.
"""

import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.contrib.auth import get_user_model

from oauthcore.audit import Actor
from oauthcore.constants import DefaultFor, GrantType, SecurityMode
from oauthcore.models import Connection, ResourceServer, ResourceServerScope
from oauthcore.services.applications import application_create
from oauthcore.services.client_grants import client_grant_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.resource_servers import resource_server_create
from tests.e2e.oauth_helpers import PASSWORD, Browser, oauth_client
from tests.policy_cases import (
    API_KINDS,
    CLIENT_POLICIES,
    DEFAULT_SCOPES,
    GRANT_SITUATIONS,
    OWN_SCOPES,
    REQUESTED,
    USER_POLICIES,
    denial_message,
    expected,
    grants_of,
)

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://127.0.0.1:9999/callback"
ACTOR = Actor.system("matrix")
SCOPES = [("read", "Read"), ("write", "Write"), ("admin", "Administer")]
APP_FIELDS = {
    "first_party": {"is_first_party": True},
    "strict": {"is_first_party": False, "third_party_security_mode": SecurityMode.STRICT},
    "permissive": {"is_first_party": False, "third_party_security_mode": SecurityMode.PERMISSIVE},
}


def make_app(kind: str):
    issued = application_create(
        actor=ACTOR,
        name=f"{kind} app",
        app_type="regular_web",
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN, GrantType.CLIENT_CREDENTIALS],
        **APP_FIELDS[kind],
    )
    return issued.application, issued.client_secret


def make_target(n: int, api_kind: str, user_policy: str, client_policy: str) -> ResourceServer:
    if api_kind == "custom":
        return resource_server_create(
            actor=ACTOR,
            identifier=f"https://api-{n}.example.com/",
            name=f"API {n}",
            scopes=SCOPES,
            user_policy=user_policy,
            client_policy=client_policy,
        )
    # A system API of its own per case: the services never create one, so the rows are written directly.
    api = ResourceServer.objects.create(
        identifier=f"https://system-{n}.example.com/api/v2/",
        name=f"System {n}",
        is_system=True,
        user_policy=user_policy,
        client_policy=client_policy,
    )
    ResourceServerScope.objects.bulk_create(ResourceServerScope(resource_server=api, value=v) for v, _ in SCOPES)
    return api


def stored_situation(situation: str, api_kind: str, subject_type: str) -> str:
    """The model refuses a user grant on a system API: there, only the default grant can exist."""
    if api_kind == "system" and subject_type == "user":
        return "default" if grants_of(situation)[1] else "none"
    return situation


def make_grants(app, api, kind: str, api_kind: str, situation: str, subject_type: str) -> None:
    has_own, has_default = grants_of(situation)
    system_for_third_party = api_kind == "system" and kind != "first_party"
    if has_own and not system_for_third_party:  # the model refuses that grant outright
        client_grant_create(
            actor=ACTOR, audience=api.identifier, client=app, subject_type=subject_type, scope=sorted(OWN_SCOPES)
        )
    if has_default and api_kind != "system":  # system APIs take no default grant
        client_grant_create(
            actor=ACTOR,
            audience=api.identifier,
            default_for=DefaultFor.THIRD_PARTY_CLIENTS,
            subject_type=subject_type,
            scope=sorted(DEFAULT_SCOPES),
        )


def combinations():
    for user_policy in USER_POLICIES:
        for client_policy in CLIENT_POLICIES:
            for situation in GRANT_SITUATIONS:
                for api_kind in API_KINDS:
                    yield user_policy, client_policy, situation, api_kind


@pytest.fixture
def browser(live_server):
    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=ACTOR, connection=connection, is_domain_connection=True)
    get_user_model().objects.create_user(username="matrix-user", password=PASSWORD)
    browser = Browser(live_server.url)
    browser.login("matrix-user")
    return browser


@pytest.mark.parametrize("kind", ["first_party", "strict", "permissive"])
def test_authorize_matrix_over_http(live_server, browser, kind):
    app, secret = make_app(kind)
    failures = []
    for n, (user_policy, client_policy, situation, api_kind) in enumerate(combinations()):
        api = make_target(n, api_kind, user_policy, client_policy)
        situation = stored_situation(situation, api_kind, "user")
        make_grants(app, api, kind, api_kind, situation, "user")
        client = oauth_client(app, secret, CALLBACK, " ".join(sorted(REQUESTED)))
        url, _ = client.create_authorization_url(
            f"{live_server.url}/authorize", code_verifier="v" * 50, audience=api.identifier
        )
        outcome = browser.authorize(url)
        want, detail = expected(kind, user_policy, client_policy, situation, api_kind, "authorize")
        case = (user_policy, client_policy, situation, api_kind)
        if want == "allowed":
            if outcome.kind != "consent" or outcome.offered_scopes != set(detail):
                failures.append((case, want, detail, outcome.kind, outcome.offered_scopes, outcome.params))
            continue
        message = denial_message(app.client_id, api.identifier, "authorize", detail)
        if kind == "strict":  # open redirect protection: the error stays on our page
            ok = outcome.kind == "error_page" and message in outcome.page_text
        else:
            ok = outcome.kind == "redirect" and outcome.params.get("error_description") == message
            ok = ok and outcome.params.get("error") == "access_denied"
        if not ok:
            failures.append((case, want, detail, outcome.kind, outcome.params))
    assert failures == []


@pytest.mark.parametrize("kind", ["first_party", "strict", "permissive"])
def test_client_credentials_matrix_over_http(live_server, kind):
    app, secret = make_app(kind)
    failures = []
    for n, (user_policy, client_policy, situation, api_kind) in enumerate(combinations()):
        api = make_target(n, api_kind, user_policy, client_policy)
        make_grants(app, api, kind, api_kind, situation, "client")
        want, detail = expected(kind, user_policy, client_policy, situation, api_kind, "client_credentials")
        case = (user_policy, client_policy, situation, api_kind)
        try:
            token = oauth_client(app, secret).fetch_token(
                f"{live_server.url}/oauth/token", grant_type="client_credentials", audience=api.identifier
            )
        except OAuthError as error:
            message = denial_message(app.client_id, api.identifier, "client_credentials", detail)
            if want == "allowed" or (error.error, error.description) != ("access_denied", message):
                failures.append((case, want, detail, error.error, error.description))
            continue
        if want != "allowed" or set(token["scope"].split()) != set(detail):
            failures.append((case, want, detail, token.get("scope")))
    assert failures == []
