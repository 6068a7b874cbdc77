"""Signing up, confirming the email, waiting for approval, and invitations, through the portal's pages."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.credentials import link_token_digest
from oauthcore.models import AuditEvent
from oauthcore.services.tenant import tenant_settings_update
from portal.partners.forms import ACCOUNT_UNAVAILABLE
from portal.partners.models import Invitation, Partner, PartnerMembership, PartnerStatus, Role
from portal.partners.services.invitations import invitation_accept, invitation_create
from portal.partners.services.memberships import membership_set_role
from portal.partners.services.partners import partner_set_status
from portal.partners.services.signup import VERIFY_EMAIL_SALT, partner_sign_up
from tests.portal.conftest import PASSWORD, emails, link_in, make_user, path_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

SIGN_UP = {
    "name": "Initech",
    "website": "initech.example",
    "email": "peter@initech.example",
    "username": "peter",
    "password": PASSWORD,
}


@pytest.fixture
def staff_admin():
    User = get_user_model()
    return User.objects.create_superuser("root", "root@tenant.example", PASSWORD)


def sign_up(client, **overrides):
    return client.post(reverse("portal:signup"), {**SIGN_UP, **overrides})


# -- sign-up ----------------------------------------------------------------------------------------------------


def test_signing_up_creates_the_partner_its_owner_and_a_confirmation_email(client):
    response = sign_up(client)
    partner = Partner.objects.get(name="Initech")
    assert response.status_code == 302 and response["Location"] == f"/portal/{partner.pk}/"
    assert partner.website == "https://initech.example"
    assert partner.email_verified_at is None and partner.status == PartnerStatus.ACTIVE
    owner = PartnerMembership.objects.get(partner=partner)
    assert (owner.user.username, owner.user.email, owner.role) == ("peter", "peter@initech.example", Role.OWNER)
    assert owner.user.check_password(PASSWORD)
    [email] = emails("partner.verify_email")
    assert email.to == ["peter@initech.example"]
    assert email.subject == "Confirm your email for Initech on Portcullis"
    assert link_in(email).startswith("http://127.0.0.1:8000/portal/verify-email/")

    # Signed in, held on the confirmation page until the link is opened.
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Confirm your email" in page.content
    assert client.get(reverse("portal:app-new", args=[partner.pk])).templates[0].name == "portal/verify_pending.html"


def test_sign_up_shows_field_errors_and_saves_nothing(client):
    make_user("taken", "peter@initech.example")
    response = sign_up(client, name="", website="not a url", username="taken", password="123")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["website"] == ["Enter a valid URL."]
    # Neither name is pinned on a field: one answer whether the username or the address is in the way.
    assert "username" not in errors and "email" not in errors
    assert errors["__all__"] == [ACCOUNT_UNAVAILABLE]
    assert any("too short" in message for message in errors["password"])
    assert not Partner.objects.exists() and not emails()


def test_sign_up_is_all_or_nothing(actor):
    """The account is made first; a refused partner takes it back with it."""
    with pytest.raises(Exception) as excinfo:
        partner_sign_up(name="x" * 300, website="", username="half", email="half@example.com", password=PASSWORD)
    assert "name" in excinfo.value.message_dict
    assert not get_user_model().objects.filter(username="half").exists()
    assert not Partner.objects.exists() and not emails()


def test_sign_up_is_rate_limited_per_address(client, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"signup": "2/h"}}
    for n in range(2):
        assert sign_up(client, name=f"Org {n}", username=f"user{n}", email=f"u{n}@example.com").status_code == 302
        client.logout()
    response = sign_up(client, name="Org 3", username="user3", email="u3@example.com")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert Partner.objects.count() == 2


def test_a_signed_in_user_registers_an_organization_with_their_account(client):
    user = make_user("alice", "alice@initech.example")
    client.force_login(user)
    form = client.get(reverse("portal:signup"))
    assert b"Register your organization" in form.content and b'name="password"' not in form.content
    response = client.post(reverse("portal:signup"), {"name": "Alice Co", "website": ""})
    partner = Partner.objects.get(name="Alice Co")
    assert response["Location"] == f"/portal/{partner.pk}/"
    assert PartnerMembership.objects.get(partner=partner).user == user
    assert emails("partner.verify_email")[0].to == ["alice@initech.example"]


# -- email confirmation ----------------------------------------------------------------------------------------


def test_the_emailed_link_confirms_the_email_once_and_opens_the_portal(client):
    sign_up(client)
    partner = Partner.objects.get()
    link = path_of(link_in(emails("partner.verify_email")[0]))
    client.logout()  # the link works in any browser: it is the proof
    page = client.get(link)
    assert page.status_code == 200 and b"Email confirmed" in page.content
    partner.refresh_from_db()
    verified_at = partner.email_verified_at
    assert verified_at is not None
    assert client.get(link).status_code == 200  # again: harmless
    partner.refresh_from_db()
    assert partner.email_verified_at == verified_at
    assert AuditEvent.objects.filter(action="partner.email_verified").count() == 1
    client.force_login(partner.memberships.get().user)
    assert b"Register an app" in client.get(reverse("portal:dashboard", args=[partner.pk])).content


def test_a_tampered_or_expired_link_is_refused(client, settings):
    sign_up(client)
    partner = Partner.objects.get()
    link = path_of(link_in(emails("partner.verify_email")[0]))
    response = client.get(link[:-3] + "abc")
    assert response.status_code == 400 and "This confirmation link is not valid." in response.content.decode()
    settings.PORTCULLIS = {**settings.PORTCULLIS, "PORTAL_VERIFICATION_DAYS": 0}
    response = client.get(link)
    assert response.status_code == 400 and "expired" in response.content.decode()
    partner.refresh_from_db()
    assert partner.email_verified_at is None


def test_a_link_for_an_address_the_owner_no_longer_has_is_refused(client):
    sign_up(client)
    partner = Partner.objects.get()
    owner = partner.memberships.get().user
    link = path_of(link_in(emails("partner.verify_email")[0]))
    assert "initech" not in link  # the address is bound by a digest, never written into the link
    owner.email = "peter.new@initech.example"
    owner.save(update_fields=["email"])
    assert client.get(link).status_code == 400
    token = signing.dumps({"partner": partner.pk, "user": owner.pk, "email": "forged"}, salt=VERIFY_EMAIL_SALT)
    assert client.get(reverse("portal:verify-email", args=[token])).status_code == 400
    partner.refresh_from_db()
    assert partner.email_verified_at is None


def test_the_owner_can_have_the_link_sent_again(client, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"portal_email": "1/h"}}
    sign_up(client)
    partner = Partner.objects.get()
    url = reverse("portal:resend-verification", args=[partner.pk])
    client.post(url)
    assert len(emails("partner.verify_email")) == 2
    page = client.get(client.post(url)["Location"])
    assert "Too many emails sent" in page.content.decode()
    assert len(emails("partner.verify_email")) == 2


def test_pending_partners_wait_and_the_tenant_admins_hear_of_them(client, actor, staff_admin):
    tenant_settings_update(actor=actor, require_partner_approval=True, support_email="partners@tenant.example")
    sign_up(client)
    partner = Partner.objects.get()
    assert partner.status == PartnerStatus.PENDING
    assert not emails("partner.awaiting_approval")  # not before the email is confirmed
    client.get(path_of(link_in(emails("partner.verify_email")[0])))
    [waiting] = emails("partner.awaiting_approval")
    assert waiting.to == ["partners@tenant.example", "root@tenant.example"]
    assert f"/admin/portal/partner/{partner.pk}/change/" in waiting.body

    page = client.get(reverse("portal:dashboard", args=[partner.pk]))
    assert page.status_code == 200 and b"Waiting for approval" in page.content
    assert b"partners@tenant.example" in page.content
    assert client.get(reverse("portal:app-new", args=[partner.pk])).templates[0].name == "portal/waiting.html"

    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.ACTIVE)
    [approved] = emails("partner.activated")
    assert approved.to == ["peter@initech.example"]
    assert b"Register an app" in client.get(reverse("portal:dashboard", args=[partner.pk])).content

    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.SUSPENDED)
    page = client.get(reverse("portal:dashboard", args=[partner.pk]))
    assert page.status_code == 403 and b"is suspended" in page.content


# -- invitations -----------------------------------------------------------------------------------------------


def invite(acme, email="new@acme.example", role=Role.DEVELOPER, by=None):
    return invitation_create(actor=Actor.system("tests"), by=acme.membership(by or acme.owner), email=email, role=role)


def test_inviting_emails_a_single_use_link_and_stores_only_its_digest(client, acme):
    client.force_login(acme.admin)
    response = client.post(
        reverse("portal:invite", args=[acme.partner.pk]), {"email": "wanda@acme.example", "role": Role.ADMIN}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    [email] = emails("partner.invitation")
    assert email.to == ["wanda@acme.example"]
    assert email.subject == "acme-admin invited you to Acme Partners on Portcullis"
    token = link_in(email).rsplit("/", 1)[1]
    assert invitation.token_digest == link_token_digest(token) and token not in invitation.token_digest
    assert invitation.role == Role.ADMIN and invitation.invited_by == acme.admin
    assert timezone.now() + timedelta(days=6) < invitation.expires_at <= timezone.now() + timedelta(days=7)
    page = client.get(reverse("portal:team", args=[acme.partner.pk]))
    assert b"wanda@acme.example" in page.content


def test_the_invitation_form_shows_field_errors(client, acme):
    client.force_login(acme.owner)
    url = reverse("portal:invite", args=[acme.partner.pk])
    response = client.post(url, {"email": "not-an-email", "role": Role.DEVELOPER})
    assert response.status_code == 400 and response.context["invite_form"].errors["email"] == [
        "Enter a valid email address."
    ]
    response = client.post(url, {"email": "ACME-DEV@example.com", "role": Role.DEVELOPER})
    assert response.status_code == 400
    assert response.context["invite_form"].errors["email"] == [
        "ACME-DEV@example.com is already a member of Acme Partners."
    ]
    assert not Invitation.objects.exists()


def test_an_invitee_signs_up_and_joins_with_the_chosen_role(client, acme):
    issued = invite(acme, role=Role.ADMIN)
    url = reverse("portal:invitation", args=[issued.token])
    page = client.get(url)
    assert page.status_code == 200 and b"Join Acme Partners" in page.content and b"new@acme.example" in page.content
    response = client.post(url, {"username": "newbie", "password": "short"})
    assert response.status_code == 400 and response.context["form"].errors["password"]
    assert not get_user_model().objects.filter(username="newbie").exists()

    response = client.post(url, {"username": "newbie", "password": PASSWORD})
    assert response["Location"] == f"/portal/{acme.partner.pk}/"
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "new@acme.example"
    assert PartnerMembership.objects.get(partner=acme.partner, user=user).role == Role.ADMIN
    assert "you joined as admin" in client.get(response["Location"]).content.decode()
    # Single use: the link is spent.
    client.logout()
    again = client.get(url)
    assert again.status_code == 400 and "already accepted" in again.content.decode()


def test_an_existing_account_accepts_only_with_the_invited_address(client, acme, globex):
    issued = invite(acme, email=globex.developer.email)
    url = reverse("portal:invitation", args=[issued.token])
    client.force_login(globex.admin)  # another address
    page = client.get(url)
    assert "This invitation was sent to globex-dev@example.com" in page.content.decode()
    assert client.post(url).status_code == 400
    assert not PartnerMembership.objects.filter(partner=acme.partner, user=globex.admin).exists()

    client.force_login(globex.developer)
    assert client.post(url)["Location"] == f"/portal/{acme.partner.pk}/"
    assert acme.membership(globex.developer).role == Role.DEVELOPER
    home = client.get(reverse("portal:home"))  # now a member of two partners: they choose
    assert b"Choose a partner" in home.content


def test_an_expired_or_unknown_invitation_is_refused(client, acme):
    issued = invite(acme)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("portal:invitation", args=[issued.token]))
    assert response.status_code == 400 and "This invitation has expired." in response.content.decode()
    response = client.get(reverse("portal:invitation", args=["nope"]))
    assert response.status_code == 400 and "This invitation link is not valid." in response.content.decode()


def test_an_invitation_lapses_when_its_inviter_loses_the_right_to_give_that_role(acme):
    issued = invite(acme, role=Role.ADMIN, by=acme.admin)
    membership_set_role(actor=Actor.system("tests"), membership=acme.membership(acme.admin), role=Role.DEVELOPER)
    invitee = make_user("late", "new@acme.example")
    with pytest.raises(Exception) as excinfo:
        invitation_accept(token=issued.token, user=invitee)
    assert excinfo.value.messages == ["This invitation is no longer valid. Ask for a new invitation."]


def test_nobody_invites_above_their_own_role(acme):
    with pytest.raises(Exception) as excinfo:
        invite(acme, role=Role.OWNER, by=acme.admin)
    assert excinfo.value.message_dict["role"] == ["As an admin you cannot invite owners."]
    with pytest.raises(Exception) as excinfo:
        invite(acme, role=Role.DEVELOPER, by=acme.developer)
    assert excinfo.value.messages == ["Only owners and admins invite members."]


def test_a_new_invitation_replaces_the_open_one_and_can_be_cancelled(client, acme):
    first = invite(acme, email="New@ACME.example")
    second = invite(acme, role=Role.ADMIN)  # the same address
    assert list(Invitation.objects.values_list("email", "role")) == [("new@acme.example", Role.ADMIN)]
    assert client.get(reverse("portal:invitation", args=[first.token])).status_code == 400
    client.force_login(acme.owner)
    client.post(reverse("portal:invitation-cancel", args=[acme.partner.pk, second.invitation.pk]))
    assert not Invitation.objects.exists()
    assert client.get(reverse("portal:invitation", args=[second.token])).status_code == 400
    assert AuditEvent.objects.filter(action="partner.invitation_revoke").exists()
