"""Organization logins' statements, counted: an organization costs a fixed few statements on the
hot paths (/authorize with a stored consent, the code exchange, a refresh, client credentials),
whatever the number of organizations, members and grants around it. Budgets are the path's
budget without an organization (tests/oauthcore/test_token_endpoint_queries.py) plus the
statements named in each test."""

import base64
import json

import pytest

from consent.services import user_grant_record
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SubjectType
from oauthcore.keys import active_signing_key
from oauthcore.models import Connection, Grant
from oauthcore.services.applications import application_create, application_update
from oauthcore.services.client_grants import client_grant_update
from oauthcore.services.organizations import organization_client_grant_add
from oauthcore.services.resource_servers import resource_server_update
from tests.oauthcore.flows import authorize_path, code_from, exchange
from tests.oauthcore.test_token_endpoint_queries import COUNTING, form_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd_of_organizations(make_organization, django_user_model):
    """Other organizations, with members and the database connection: they must change nothing."""
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    for n in range(5):
        members = [django_user_model.objects.create_user(username=f"member-{n}-{m}") for m in range(3)]
        make_organization(f"other-{n}", members=members, connections=[database], third_party=True)


@pytest.fixture
def acme(actor, partner_web, crowded, make_organization, crowd_of_organizations):
    issued, user = partner_web
    application_update(actor=actor, application=issued.application, organization_usage="allow")
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    acme = make_organization("acme", members=[user], connections=[database], third_party=True)
    user_grant_record(
        user=user, client=issued.application, audience=crowded.identifier, scopes=["read:things"], organization=acme
    )
    return acme


def org_path(issued, crowded, organization) -> str:
    return authorize_path(issued.application, crowded.identifier) + f"&organization={organization.id}"


def test_authorize_for_an_organization_with_stored_consent_takes_at_most_9_statements(
    client, partner_web, crowded, acme, django_assert_max_num_queries
):
    issued, user = partner_web
    client.force_login(user)
    path = org_path(issued, crowded, acme)
    code_from(client.get(path))
    # the 6 without an organization, plus: the organization (by id, once though oauthlib validates
    # twice), the membership with the connection's link to it (one statement), and the UPDATE that
    # stamps the code with its organization (django-oauth-toolkit's INSERT knows none)
    with django_assert_max_num_queries(9):
        code = code_from(client.get(path))
    assert Grant.objects.get(code=code).organization_id == acme.id


def test_code_exchange_for_an_organization_takes_at_most_9_statements(
    client, partner_web, crowded, acme, django_assert_max_num_queries
):
    issued, user = partner_web
    client.force_login(user)
    path = org_path(issued, crowded, acme)
    client.post("/oauth/token", exchange(issued, code_from(client.get(path))))
    code = code_from(client.get(path))
    # the 8 without an organization (the code brings its organization in the same statement), plus
    # the user's membership with their connection's link (one statement)
    with django_assert_max_num_queries(9):
        response = client.post("/oauth/token", exchange(issued, code))
    assert response.status_code == 200, response.content


def test_client_credentials_for_an_organization_read_two_statements_when_warm(
    client, actor, crowded, make_grant, make_organization, crowd_of_organizations, django_assert_max_num_queries
):
    issued = application_create(
        actor=actor,
        name="m2m",
        app_type=AppType.NON_INTERACTIVE,
        grant_types=[GrantType.CLIENT_CREDENTIALS],
    )
    grant = make_grant(crowded, client=issued.application, scope=["read:things"], subject_type=SubjectType.CLIENT)
    client_grant_update(actor=actor, grant=grant, organization_usage="allow")
    acme = make_organization("acme")
    organization_client_grant_add(actor=actor, organization=acme, grant=grant)
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "audience": crowded.identifier,
        "organization": acme.id,
    }
    active_signing_key()
    form_post(client, data)
    form_post(client, data)
    # warm, the client and the policy come from the process: the organization, and whether it
    # authorized the grant (and the activity count without Redis)
    with django_assert_max_num_queries(2 + COUNTING):
        response = form_post(client, data)
    assert response.status_code == 200, response.content
    payload = response.json()["access_token"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["org_id"] == acme.id


def test_a_refresh_for_an_organization_takes_at_most_2_more_statements_than_without(
    client, actor, partner_web, crowded, acme, django_assert_max_num_queries
):
    """The refresh reads the token's organization and checks the membership again (with the
    connection's link, in one statement)."""
    resource_server_update(actor=actor, resource_server=crowded, allow_offline_access=True)
    issued, user = partner_web
    grant_types = [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN]
    application_update(actor=actor, application=issued.application, grant_types=grant_types)
    client.force_login(user)
    scope = "read:things offline_access"
    counts = {}
    for organization in (None, acme):
        path = authorize_path(issued.application, crowded.identifier, scope)
        if organization is not None:
            path += f"&organization={organization.id}"
        assert client.get(path).status_code == 200  # offline_access is new: the consent screen
        answer = client.post(path, {"decision": "accept", "scope": scope.split()})
        tokens = client.post("/oauth/token", exchange(issued, code_from(answer))).json()
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        }
        tokens = client.post("/oauth/token", refresh).json()  # warm the path
        refresh["refresh_token"] = tokens["refresh_token"]
        with django_assert_max_num_queries(40) as statements:
            response = client.post("/oauth/token", refresh)
        assert response.status_code == 200, response.content
        counts[organization] = len(statements.captured_queries)
    assert counts[acme] <= counts[None] + 2, counts
