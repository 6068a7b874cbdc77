"""Consents name their API by its identifier. Deleting an API takes them back, whichever surface
deletes it (the service and the console here; the management API in
tests/oauthcore/api/test_resources.py): an API made again with the same identifier must ask its
users again, never find an old "yes" (they approved the old API, not what now carries its name)."""

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from oauthcore.consents import consent_store
from oauthcore.models import AuditEvent, ResourceServer
from oauthcore.services.resource_servers import resource_server_delete

IDENTIFIER = "https://orders.example.com/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def consented(make_api, make_app):
    """Two users who consented to an app for the Orders API, and one consent to another API."""
    api, other = make_api(identifier=IDENTIFIER, name="Orders"), make_api()
    app = make_app(name="Partner App")
    users = [get_user_model().objects.create_user(username=f"user{n}", password="x" * 20) for n in range(2)]
    for user in users:
        consent_store().record(user=user, client=app, audience=IDENTIFIER, scopes=["read:things"])
    consent_store().record(user=users[0], client=app, audience=other.identifier, scopes=["read:things"])
    return api, other, app, users


def asked_again(app, users, make_api) -> bool:
    make_api(identifier=IDENTIFIER, name="Orders, made again")
    return all(consent_store().consented_scopes(user=u, client=app, audience=IDENTIFIER) is None for u in users)


def test_deleting_an_api_takes_back_its_consents_and_only_those(consented, actor, make_api):
    api, other, app, users = consented
    assert consent_store().count_for_apis(audiences=[IDENTIFIER]) == 2

    resource_server_delete(actor=actor, resource_server=api)

    assert asked_again(app, users, make_api)
    assert UserGrant.objects.filter(audience=other.identifier).count() == 1
    event = AuditEvent.objects.get(action="consent.revoke_api")
    assert event.data == {"audience": IDENTIFIER, "consents": 2}


def test_the_console_says_so_and_takes_them_back(consented, admin_client, make_api):
    api, _other, app, users = consented
    url = f"/admin/oauthcore/resourceserver/{api.pk}/delete/"
    page = admin_client.get(url).content.decode()
    assert "2 user consents taken back." in page

    admin_client.post(url, {"post": "yes"})

    assert not ResourceServer.objects.filter(pk=api.pk).exists()
    assert asked_again(app, users, make_api)


def test_counting_them_is_one_statement(consented, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert consent_store().count_for_apis(audiences=[IDENTIFIER, "https://none.example.com/"]) == 2
