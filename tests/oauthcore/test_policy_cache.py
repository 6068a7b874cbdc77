"""The policy cache never answers from before a change: every write takes effect on the next request.

Each test first warms the process's cache with a request, changes something through the services
(as the admin, the management API and the portal do), then checks the very next request.
"""

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from consent.services import user_grant_record, user_grant_revoke
from oauthcore import policy_cache
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, DefaultFor, SubjectType
from oauthcore.models import ClientGrant, Connection, PolicyVersion
from oauthcore.services.applications import application_create, application_rotate_secret, application_update
from oauthcore.services.client_grants import client_grant_delete, client_grant_update
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.resource_servers import resource_server_delete, resource_server_update
from oauthcore.services.tenant import tenant_settings_update
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db

BOTH = (("read:things", "Read things"), ("write:things", "Write things"))


@pytest.fixture
def api(make_api):
    return make_api(scopes=BOTH)


@pytest.fixture
def m2m(actor):
    """A strict third-party machine-to-machine app: (application, token request data without audience)."""
    issued = application_create(actor=actor, name="m2m", app_type=AppType.NON_INTERACTIVE, is_first_party=False)
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
    }
    return issued.application, data


def token(client, data, audience):
    body = {**data, "audience": audience} if audience else data
    return client.post("/oauth/token", body)


def granted(response) -> str:
    assert response.status_code == 200, response.content
    return response.json()["scope"]


def refused(response, error="access_denied") -> str:
    assert response.status_code in (400, 401, 403), response.content
    assert response.json()["error"] == error, response.json()
    return response.json().get("error_description", "")


def test_the_cache_is_real_so_only_the_stamp_keeps_it_fresh(client, actor, api, m2m, make_grant):
    """What makes the other tests mean something: a write that skipped the stamp would go unseen."""
    app, data = m2m
    grant = make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    ClientGrant.objects.filter(pk=grant.pk).update(scope=["read:things", "write:things"])  # no signal, no stamp
    assert granted(token(client, data, api.identifier)) == "read:things"  # answered from the cache
    policy_cache.bump()
    assert granted(token(client, data, api.identifier)) == "read:things write:things"


def test_a_changed_client_grant_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    grant = make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    stamp = PolicyVersion.objects.get().stamp
    client_grant_update(actor=actor, grant=grant, scope=["read:things", "write:things"])
    assert PolicyVersion.objects.get().stamp != stamp
    assert granted(token(client, data, api.identifier)) == "read:things write:things"
    client_grant_update(actor=actor, grant=grant, scope=["write:things"])
    assert granted(token(client, data, api.identifier)) == "write:things"


def test_a_deleted_client_grant_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    grant = make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    client_grant_delete(actor=actor, grant=grant)
    assert "You need to create a" in refused(token(client, data, api.identifier))


def test_a_new_client_grant_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    refused(token(client, data, api.identifier))  # the missing grant is what the cache now holds
    make_grant(api, client=app, scope=["write:things"])
    assert granted(token(client, data, api.identifier)) == "write:things"


def test_default_grants_for_third_party_apps_take_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    _app, data = m2m
    refused(token(client, data, api.identifier))
    default = make_grant(api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    client_grant_update(actor=actor, grant=default, scope=["read:things", "write:things"])
    assert granted(token(client, data, api.identifier)) == "read:things write:things"
    client_grant_delete(actor=actor, grant=default)
    refused(token(client, data, api.identifier))


def test_a_changed_api_policy_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    resource_server_update(actor=actor, resource_server=api, client_policy="deny_all")
    refused(token(client, data, api.identifier))
    resource_server_update(actor=actor, resource_server=api, client_policy="require_client_grant")
    assert granted(token(client, data, api.identifier)) == "read:things"


def test_a_removed_api_scope_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    make_grant(api, client=app, allow_all_scopes=True)
    assert granted(token(client, data, api.identifier)) == "read:things write:things"
    resource_server_update(actor=actor, resource_server=api, scopes=[("read:things", "Read things")])
    assert granted(token(client, data, api.identifier)) == "read:things"
    asked = token(client, {**data, "scope": "write:things"}, api.identifier)
    assert "Client has not been granted scopes: write:things" in refused(asked)


def test_a_changed_token_lifetime_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    make_grant(api, client=app, scope=["read:things"])
    assert token(client, data, api.identifier).json()["expires_in"] == api.token_lifetime
    resource_server_update(actor=actor, resource_server=api, token_lifetime=600)
    assert token(client, data, api.identifier).json()["expires_in"] == 600


def test_a_deleted_api_takes_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    resource_server_delete(actor=actor, resource_server=api)
    assert refused(token(client, data, api.identifier)) == f"Service not found: {api.identifier}"


def test_the_tenant_default_audience_takes_effect_on_the_next_request(client, actor, api, make_api, m2m, make_grant):
    app, data = m2m
    other = make_api()
    make_grant(api, client=app, scope=["read:things"])
    make_grant(other, client=app, scope=["write:things"])
    assert "No audience parameter was provided" in refused(token(client, data, None))
    tenant_settings_update(actor=actor, default_audience=api.identifier)
    assert granted(token(client, data, None)) == "read:things"
    tenant_settings_update(actor=actor, default_audience=other.identifier)
    assert granted(token(client, data, None)) == "write:things"


def test_changes_to_the_client_itself_take_effect_on_the_next_request(client, actor, api, m2m, make_grant):
    app, data = m2m
    make_grant(api, client=app, scope=["read:things"])
    assert granted(token(client, data, api.identifier)) == "read:things"
    new_secret = application_rotate_secret(actor=actor, application=app)
    refused(token(client, data, api.identifier), "invalid_client")
    data = {**data, "client_secret": new_secret}
    assert granted(token(client, data, api.identifier)) == "read:things"
    application_update(actor=actor, application=app, grant_types=["authorization_code"], callbacks=[CALLBACK])
    refused(token(client, data, api.identifier), "unauthorized_client")


# -- user-delegated flows: consent and user grants ------------------------------------------------------


@pytest.fixture
def web(actor, api, make_grant):
    issued = application_create(
        actor=actor, name="Partner web", app_type=AppType.REGULAR_WEB, is_first_party=False, callbacks=[CALLBACK]
    )
    grant = make_grant(api, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
    connection_set_domain_level(
        actor=actor, connection=Connection.objects.get(name=DATABASE_CONNECTION_NAME), is_domain_connection=True
    )
    user = get_user_model().objects.create_user(username="dave", email="dave@example.com", password=None)
    return issued, grant, user


def test_a_revoked_consent_takes_effect_on_the_next_request(client, actor, api, web):
    issued, _grant, user = web
    user_grant_record(user=user, client=issued.application, audience=api.identifier, scopes=["read:things"])
    client.force_login(user)
    path = authorize_path(issued.application, api.identifier)
    code_from(client.get(path))  # consent on record: straight back to the app
    user_grant_revoke(actor=actor, grant=UserGrant.objects.get(user=user))
    page = client.get(path)
    assert page.status_code == 200 and b'value="accept"' in page.content  # asked again


def test_a_widened_consent_takes_effect_on_the_next_request(client, actor, api, web):
    issued, grant, user = web
    client_grant_update(actor=actor, grant=grant, scope=["read:things", "write:things"])
    user_grant_record(user=user, client=issued.application, audience=api.identifier, scopes=["read:things"])
    client.force_login(user)
    wider = authorize_path(issued.application, api.identifier, "write:things")
    assert client.get(wider).status_code == 200  # write:things was never consented to
    user_grant_record(user=user, client=issued.application, audience=api.identifier, scopes=["write:things"])
    code_from(client.get(wider))


def test_a_policy_changed_between_authorize_and_exchange_stops_the_exchange(client, actor, api, web):
    issued, grant, user = web
    user_grant_record(user=user, client=issued.application, audience=api.identifier, scopes=["read:things"])
    client.force_login(user)
    path = authorize_path(issued.application, api.identifier)
    assert granted(client.post("/oauth/token", exchange(issued, code_from(client.get(path))))) == "read:things"
    code = code_from(client.get(path))
    resource_server_update(actor=actor, resource_server=api, user_policy="deny_all")
    refused(client.post("/oauth/token", exchange(issued, code)))
    resource_server_update(actor=actor, resource_server=api, user_policy="allow_all")
    code = code_from(client.get(path))
    client_grant_delete(actor=actor, grant=grant)  # which also revokes the app's codes for the API
    refused(client.post("/oauth/token", exchange(issued, code)), "invalid_grant")


def test_a_changed_user_grant_narrows_the_next_exchange(client, actor, api, web):
    issued, grant, user = web
    client_grant_update(actor=actor, grant=grant, scope=["read:things", "write:things"])
    user_grant_record(
        user=user, client=issued.application, audience=api.identifier, scopes=["read:things", "write:things"]
    )
    client.force_login(user)
    code = code_from(client.get(authorize_path(issued.application, api.identifier, "read:things write:things")))
    client_grant_update(actor=actor, grant=grant, scope=["read:things"])
    assert granted(client.post("/oauth/token", exchange(issued, code))) == "read:things"


# -- the stamp ------------------------------------------------------------------------------------------


def test_writes_replace_the_stamp_in_their_own_transaction(actor, api, m2m, make_grant):
    from django.db import transaction

    app, _data = m2m
    before = PolicyVersion.objects.get().stamp
    with pytest.raises(RuntimeError), transaction.atomic():
        make_grant(api, client=app, scope=["read:things"])
        assert PolicyVersion.objects.get().stamp != before
        raise RuntimeError("rolled back")
    assert PolicyVersion.objects.get().stamp == before  # nothing changed, nothing to forget
    assert not ClientGrant.objects.filter(client=app).exists()


def test_a_missing_stamp_row_means_no_caching_until_the_next_write(client, actor, api, m2m, make_grant):
    app, data = m2m
    grant = make_grant(api, client=app, scope=["read:things"])
    PolicyVersion.objects.all().delete()
    assert granted(token(client, data, api.identifier)) == "read:things"
    ClientGrant.objects.filter(pk=grant.pk).update(scope=["write:things"])  # unseen by any stamp...
    assert granted(token(client, data, api.identifier)) == "write:things"  # ...but nothing was cached
    client_grant_update(actor=actor, grant=grant, scope=["read:things"])
    assert PolicyVersion.objects.exists()
    assert granted(token(client, data, api.identifier)) == "read:things"
