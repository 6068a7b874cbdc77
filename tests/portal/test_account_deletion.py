"""``/account/delete`` for a partner's member: a partner keeps at least one owner, so its only owner
keeps their account until another member owns it; anyone else deletes theirs and leaves the partner."""

import pytest
from django.contrib.auth import get_user_model

from portal.partners.models import PartnerMembership, Role
from portal.partners.services.memberships import membership_add, membership_set_role
from portal.partners.services.partners import partner_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "old enough passphrase 7"


def person(name):
    return get_user_model().objects.create_user(username=name, email=f"{name}@acme.example", password=PASSWORD)


def test_the_only_owner_is_told_what_to_do_first_and_keeps_the_account(client, actor):
    olga = person("olga")
    partner_create(actor=actor, name="Acme Partners", owner=olga)
    client.force_login(olga)
    page = client.get("/account/delete")
    assert page.status_code == 409
    assert "You are the only owner of Acme Partners in the partner portal" in page.content.decode()
    assert 'name="password"' not in page.content.decode()  # nothing to confirm: the account stays
    assert client.post("/account/delete", {"password": PASSWORD}).status_code == 409
    assert get_user_model().objects.filter(pk=olga.pk).exists()


def test_with_another_owner_the_account_goes_and_the_partner_keeps_its_owner(client, actor):
    olga, pete = person("olga"), person("pete")
    partner = partner_create(actor=actor, name="Acme Partners", owner=olga)
    membership_set_role(
        actor=actor, membership=membership_add(actor=actor, partner=partner, user=pete), role=Role.OWNER
    )
    client.force_login(olga)
    assert client.post("/account/delete", {"password": PASSWORD}).status_code == 200
    assert not get_user_model().objects.filter(pk=olga.pk).exists()
    assert list(PartnerMembership.objects.filter(partner=partner).values_list("user__username", "role")) == [
        ("pete", Role.OWNER)
    ]


def test_a_developer_deletes_their_account(client, actor):
    olga, dev = person("olga"), person("dev")
    partner = partner_create(actor=actor, name="Acme Partners", owner=olga)
    membership_add(actor=actor, partner=partner, user=dev)
    client.force_login(dev)
    assert client.post("/account/delete", {"password": PASSWORD}).status_code == 200
    assert not get_user_model().objects.filter(pk=dev.pk).exists()
