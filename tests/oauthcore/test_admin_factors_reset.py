"""The tenant admin removes a user's second factors (they lost their device): a confirmation page
first, nothing changed on GET, then every factor and recovery code gone through ``factors_reset``,
audited; the user signs in with their password alone again."""

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.models import AuditEvent, Authenticator, RecoveryCode, User
from oauthcore.services.mfa import has_second_factor, totp_enroll_confirm, totp_enroll_start
from tests.oauthcore.test_admin import messages_of, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a long passphrase 4"


@pytest.fixture
def ines(db):
    user = get_user_model().objects.create_user(username="ines", password=PASSWORD)
    enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
    totp_enroll_confirm(actor=Actor.user(user), user=user, code=pyotp.TOTP(enrollment.secret).now())
    return user


def reset_url(user) -> str:
    return reverse("admin:oauthcore_user_factors_reset", args=[user.pk])


def test_the_users_page_offers_the_button_only_when_there_is_something_to_remove(admin_client, ines):
    page = admin_client.get(url(User, "change", ines.pk)).text
    assert "Remove second factors" in page and reset_url(ines) in page
    plain = get_user_model().objects.create_user(username="plain", password=PASSWORD)
    assert "Remove second factors" not in admin_client.get(url(User, "change", plain.pk)).text


def test_the_confirmation_says_what_goes_and_changes_nothing(admin_client, ines):
    page = admin_client.get(reset_url(ines))
    assert page.status_code == 200
    body = page.text
    assert "Authenticator app" in body and "10 unused recovery codes" in body
    assert "Yes, remove them" in body and "No, take me back" in body and "delete-confirmation" in body
    assert has_second_factor(ines) and RecoveryCode.objects.filter(user=ines).count() == 10


def test_confirming_removes_every_factor_and_recovery_code_audited(admin_client, ines):
    response = admin_client.post(reset_url(ines), follow=True)
    assert response.redirect_chain[-1][0] == url(User, "change", ines.pk)
    assert any("were removed" in message for message in messages_of(response))
    assert not Authenticator.objects.filter(user=ines).exists() and not RecoveryCode.objects.filter(user=ines).exists()
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.target_id == str(ines.pk) and event.data["kinds"] == ["totp"] and event.data["recovery_codes"] == 10
    assert "a password alone signs this user in" in admin_client.get(url(User, "change", ines.pk)).text
    assert Client().login(username="ines", password=PASSWORD)


def test_the_form_needs_its_csrf_token_and_the_change_permission(admin_user, ines):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post(reset_url(ines)).status_code == 403
    viewer = get_user_model().objects.create_user(username="viewer", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_user"))
    readonly = Client()
    readonly.force_login(viewer)
    assert readonly.get(reset_url(ines)).status_code == 403
    assert readonly.post(reset_url(ines)).status_code == 403
    assert has_second_factor(ines)


def test_an_unknown_user_is_a_404(admin_client):
    assert admin_client.get(reverse("admin:oauthcore_user_factors_reset", args=[999999])).status_code == 404
