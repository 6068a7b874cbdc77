"""Deleting a user through the management API takes back their consents as well as their tokens,
each with its audit entry, before the account goes (Auth0's DELETE /api/v2/users/{id})."""

import pytest
from django.contrib.auth import get_user_model

from consent.services import user_grant_record
from oauthcore.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_deleting_a_user_revokes_each_consent_audited(api, make_app, make_api):
    orders, catalog = (
        make_api(identifier="https://orders.example.com/"),
        make_api(identifier="https://catalog.example/"),
    )
    app = make_app(name="Partner", is_first_party=False)
    user = get_user_model().objects.create_user(username="dora", email="dora@example.com", password=None)
    for audience in (orders.identifier, catalog.identifier):
        user_grant_record(user=user, client=app, audience=audience, scopes=["read:things"])

    response = api("delete:users").delete(f"/api/v2/users/{user.user_id}")

    assert response.status_code == 204
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    revoked = AuditEvent.objects.filter(action="consent.revoke").order_by("id")
    assert sorted(event.data["audience"] for event in revoked) == sorted([orders.identifier, catalog.identifier])
    assert {event.actor_type for event in revoked} == {"client"}
    deleted = AuditEvent.objects.get(action="user.delete")
    assert deleted.id > max(event.id for event in revoked)  # the consents went first
