"""The tenant admin's view of multi-factor authentication: the tenant's policy, and a user's factors."""

import pyotp
import pytest
from django.contrib.auth import get_user_model

from oauthcore.audit import Actor
from oauthcore.models import TenantSettings, User
from oauthcore.services.mfa import totp_enroll_confirm, totp_enroll_start
from tests.oauthcore.test_admin import post_data, url

pytestmark = pytest.mark.django_db


def test_the_mfa_policy_is_a_tenant_setting_saved_through_the_service(admin_client):
    tenant = TenantSettings.load()
    page = admin_client.get(url(TenantSettings, "change", tenant.pk))
    assert "Multi-factor authentication" in page.text and 'name="mfa_policy"' in page.text
    response = admin_client.post(url(TenantSettings, "change", tenant.pk), post_data(page, mfa_policy="always"))
    assert response.status_code == 302
    assert TenantSettings.load().mfa_policy == "always"


def test_a_users_page_lists_their_factors_never_a_secret(admin_client):
    user = get_user_model().objects.create_user(username="ines", password="a long passphrase 4")
    assert "a password alone signs this user in" in admin_client.get(url(User, "change", user.pk)).text
    enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
    totp_enroll_confirm(actor=Actor.user(user), user=user, code=pyotp.TOTP(enrollment.secret).now())
    page = admin_client.get(url(User, "change", user.pk)).text
    assert "Authenticator app" in page and "10 unused recovery codes" in page
    assert enrollment.secret not in page
