"""One builder of the decision's inputs: every place that decides or shows access gives the same answer.

The token endpoint, the admin's simulator and access matrix, and the partner catalog each used to
assemble the facts for ``policy.decide`` themselves. Now they build them in one place; these tests
ask all of them the same question and compare what a client, an admin and a partner would see.
"""

import pytest

from oauthcore.constants import AppType, DefaultFor, SubjectType, UserPolicy
from oauthcore.models import AuditEvent
from oauthcore.policy import Flow
from oauthcore.selectors import SimulatedRequest, access_matrix, simulate
from oauthcore.services.applications import application_create
from portal.partners.catalog import api_catalog

pytestmark = pytest.mark.django_db

SCOPES = (("read:things", "Read things"), ("write:things", "Write things"))


@pytest.fixture
def api(make_api):
    return make_api(scopes=SCOPES, user_policy=UserPolicy.REQUIRE_CLIENT_GRANT, token_lifetime=600)


def machine(actor, name="m2m"):
    return application_create(actor=actor, name=name, app_type=AppType.NON_INTERACTIVE, is_first_party=False)


def token(client, issued, audience):
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "audience": audience,
    }
    return client.post("/oauth/token", data)


def catalog_access(application, api):
    (entry,) = [entry for entry in api_catalog(application=application) if entry.api.pk == api.pk]
    return entry.app_client


def test_an_own_grant_reads_the_same_everywhere(client, actor, api, make_grant):
    issued = machine(actor)
    app = issued.application
    make_grant(api, client=app, scope=["write:things"])

    response = token(client, issued, api.identifier)
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "write:things" and response.json()["expires_in"] == 600

    simulated = simulate(SimulatedRequest(app, api.identifier, Flow.CLIENT_CREDENTIALS, scope_given=False))
    _apps, _apis, cells = access_matrix([app])
    listed = catalog_access(app, api)
    assert simulated.scopes == cells[(app.pk, api.pk)].client.scopes == {"write:things"}
    assert listed.allowed and listed.scopes == ("write:things",) and listed.source == "own"


def test_the_default_grant_reads_the_same_everywhere(client, actor, api, make_grant):
    issued = machine(actor)
    app = issued.application
    make_grant(api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"], subject_type=SubjectType.CLIENT)

    assert token(client, issued, api.identifier).json()["scope"] == "read:things"
    simulated = simulate(SimulatedRequest(app, api.identifier, Flow.CLIENT_CREDENTIALS, scope_given=False))
    _apps, _apis, cells = access_matrix([app])
    listed = catalog_access(app, api)
    assert simulated.scopes == cells[(app.pk, api.pk)].client.scopes == {"read:things"}
    assert listed.scopes == ("read:things",) and listed.source == "default"


def test_a_missing_grant_is_refused_for_the_same_reason_everywhere(client, actor, api):
    issued = machine(actor)
    app = issued.application

    response = token(client, issued, api.identifier)
    assert response.status_code == 403 and response.json()["error"] == "access_denied"
    logged = AuditEvent.objects.filter(action="access.denied").latest("pk")

    simulated = simulate(SimulatedRequest(app, api.identifier, Flow.CLIENT_CREDENTIALS, scope_given=False))
    _apps, _apis, cells = access_matrix([app])
    matrix = cells[(app.pk, api.pk)].client
    assert logged.data["reason"] == simulated.reason == matrix.reason == "client_grant_missing"
    assert response.json()["error_description"] == simulated.description == matrix.description
    assert catalog_access(app, api).reason == "client_grant_missing"
