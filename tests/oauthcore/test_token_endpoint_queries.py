"""The token endpoint's statements, counted: they must not grow with the tenant."""

import pytest

from oauthcore.services.applications import application_create

pytestmark = pytest.mark.django_db


def test_client_credentials_reads_only_what_the_decision_needs(
    client, actor, make_api, make_app, make_grant, django_assert_max_num_queries
):
    api = make_api()
    for n in range(10):  # other apps and grants change nothing
        make_grant(api, client=make_app(name=f"other {n}"), scope=["read:things"])
    issued = application_create(actor=actor, name="m2m", app_type="non_interactive", is_first_party=False)
    make_grant(api, client=issued.application, scope=["read:things"])
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "audience": api.identifier,
    }
    client.post("/oauth/token", data)  # the signing key is loaded once per process
    # client, API, its scopes, the grants, the token INSERT (in a savepoint), DOT's signal lookup
    with django_assert_max_num_queries(8):
        response = client.post("/oauth/token", data)
    assert response.status_code == 200 and response.json()["scope"] == "read:things"
