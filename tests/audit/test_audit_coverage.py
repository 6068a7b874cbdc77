"""Security-relevant writes that do not go through a service form of their own are audited too:
the admin's user forms (privileges, passwords) and user deletion."""

import pytest

from oauthcore.audit_chain import seal, verify_chain
from oauthcore.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(
        username="bob", email="bob@example.com", password="an old passphrase 9"
    )


def change_form(user) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }


def test_granting_admin_rights_is_audited_with_the_admin_as_actor(admin_client, admin_user, bob):
    response = admin_client.post(f"/admin/oauthcore/user/{bob.pk}/change/", change_form(bob))
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="user.update", target_id=str(bob.pk))
    assert event.actor_type == "user" and event.actor_id == str(admin_user.pk)
    assert "Staff status" in str(event.data["changes"])


def test_a_password_set_by_an_admin_is_audited_without_the_password(admin_client, bob):
    new = "a brand new passphrase 7"
    response = admin_client.post(
        f"/admin/oauthcore/user/{bob.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.password_change", target_id=str(bob.pk))
    assert event.reason == "password changed by an admin" and event.data == {"user_id": bob.user_id}
    assert not AuditEvent.objects.filter(data__icontains=new).exists()


def test_deleting_a_user_in_the_admin_goes_through_the_service(admin_client, bob):
    response = admin_client.post(f"/admin/oauthcore/user/{bob.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="user.delete", target_id=str(bob.pk)).exists()
    assert AuditEvent.objects.filter(action="tokens.revoke", target_id=str(bob.pk)).exists()
    seal()
    assert verify_chain().intact


def test_every_entry_is_searchable_in_the_read_only_admin(admin_client, bob):
    admin_client.post(f"/admin/oauthcore/user/{bob.pk}/change/", change_form(bob))
    listing = admin_client.get("/admin/oauthcore/auditevent/", {"q": "user.update"})
    assert listing.status_code == 200 and b"user.update" in listing.content
    seal()  # the page shows the entry's place in the chain once it has one
    event = AuditEvent.objects.get(action="user.update")
    page = admin_client.get(f"/admin/oauthcore/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and event.entry_hash.encode() in page.content
    assert b'name="_save"' not in page.content  # nothing to save: read-only
    assert admin_client.post(f"/admin/oauthcore/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
