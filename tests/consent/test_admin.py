"""Users' consents in the admin: listed, searched, revoked through the service."""

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.models import UserGrant
from oauthcore.models import AccessToken, AuditEvent
from tests.celery_worker import wait_for

# Revoking a consent revokes its tokens in a task after commit: real commits, and a real worker
# when a broker is configured.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.celery_worker,
    pytest.mark.usefixtures("fast_password_hashing"),
]

CHANGELIST = reverse("admin:consent_usergrant_changelist")


def change_url(grant):
    return reverse("admin:consent_usergrant_change", args=[quote(grant.pk)])


@pytest.fixture
def consent(make_app, make_api):
    shared = {}

    def make(username="alice", app=None, api=None):
        user = get_user_model().objects.create_user(username=username, email=f"{username}@example.com")
        if app is None:
            app = shared.get("app") or shared.setdefault("app", make_app(name="Shop", is_first_party=False))
        if api is None:
            api = shared.get("api") or shared.setdefault("api", make_api(identifier="https://orders.example.com/"))
        AccessToken.objects.create(
            token=f"at_{username}_" + "x" * 30,
            user=user,
            application=app,
            resource=[api.identifier],
            expires=timezone.now() + timedelta(hours=1),
        )
        return UserGrant.objects.create(user=user, client=app, audience=api.identifier, scope=["read:things"])

    return make


def test_list_search_and_view(admin_client, consent):
    grant = consent()

    assert admin_client.get(CHANGELIST).status_code == 200
    assert admin_client.get(change_url(grant)).status_code == 200
    for term in ("alice", "alice@example.com", "Shop", grant.client.client_id, "orders.example.com"):
        response = admin_client.get(CHANGELIST, {"q": term})
        assert list(response.context["cl"].result_list) == [grant], term
    assert list(admin_client.get(CHANGELIST, {"q": "nobody"}).context["cl"].result_list) == []


def test_consents_are_not_added_nor_edited_in_the_admin(admin_client, consent):
    grant = consent()
    assert admin_client.get(reverse("admin:consent_usergrant_add")).status_code == 403
    assert admin_client.post(change_url(grant), {"scope": '["write:things"]'}).status_code == 403


def test_revoke_action_revokes_consent_and_tokens(admin_client, consent):
    grant = consent()
    kept = consent(username="bob", app=grant.client)

    response = admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [grant.pk]}, follow=True)

    assert response.status_code == 200
    assert list(UserGrant.objects.all()) == [kept]
    wait_for(lambda: list(AccessToken.objects.values_list("user__username", flat=True)) == ["bob"])
    assert AuditEvent.objects.filter(action="consent.revoke", target_id=grant.pk, actor_type="user").exists()


def test_delete_goes_through_the_revoke_service(admin_client, consent):
    grant = consent()

    response = admin_client.post(reverse("admin:consent_usergrant_delete", args=[quote(grant.pk)]), {"post": "yes"})

    assert response.status_code == 302
    assert not UserGrant.objects.exists()
    wait_for(lambda: not AccessToken.objects.exists(), message="the consent's tokens are revoked")
    assert AuditEvent.objects.filter(action="consent.revoke", target_id=grant.pk).exists()


def test_bulk_delete_goes_through_the_revoke_service(admin_client, consent):
    grants = [consent(), consent(username="bob")]

    admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [g.pk for g in grants], "post": "yes"}
    )

    assert not UserGrant.objects.exists()
    assert AuditEvent.objects.filter(action="consent.revoke").count() == 2
    wait_for(lambda: not AccessToken.objects.exists(), message="both consents' tokens are revoked")


def test_changelist_does_not_query_per_row(admin_client, django_assert_max_num_queries, consent, make_app, make_api):
    app, api = make_app(name="Shop", is_first_party=False), make_api()
    for i in range(3):
        consent(username=f"user{i}", app=app, api=api)
    admin_client.get(CHANGELIST)
    with CaptureQueriesContext(db_connection) as few:
        admin_client.get(CHANGELIST)
    for i in range(3, 23):
        consent(username=f"user{i}", app=make_app(name=f"App {i}"), api=api)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(CHANGELIST)

    assert response.context["cl"].result_count == 23
