"""``/account/security``: a signed-in user enrolls and removes second factors, over HTTP."""

from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from oauthcore.models import AuditEvent, Authenticator, RecoveryCode

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a long passphrase 8"


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="noor", email="noor@example.com", password=PASSWORD)


def secret_on(page) -> str:
    return page.content.decode().split("data-totp-secret>")[1].split("<")[0]


def enroll_totp(client) -> list[str]:
    secret = secret_on(client.get("/account/security/totp"))
    page = client.post("/account/security/totp", {"code": pyotp.TOTP(secret).now()})
    assert page.status_code == 200
    return [line.split("<code>")[1].split("<")[0] for line in page.content.decode().split("<li>")[1:]]


def test_the_page_is_for_signed_in_users_and_cannot_be_framed(client, user):
    assert client.get("/account/security")["Location"].startswith("/login?next=/account/security")
    client.force_login(user)
    page = client.get("/account/security")
    assert page.status_code == 200 and "You have no second factor" in page.content.decode()
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"


def test_enrolling_an_authenticator_app_shows_the_recovery_codes_once(client, user):
    client.force_login(user)
    page = client.get("/account/security/totp")
    assert "otpauth://totp/" in page.content.decode()
    wrong = client.post("/account/security/totp", {"code": "000000"})
    assert wrong.status_code == 400 and secret_on(wrong) == secret_on(page)
    codes = enroll_totp_with(client, secret_on(page))
    assert len(codes) == 10 and RecoveryCode.objects.filter(user=user, used_at=None).count() == 10
    listing = client.get("/account/security").content.decode()
    assert "Authenticator app" in listing and "10 unused recovery codes left" in listing
    assert not any(code in listing for code in codes)  # shown once, never again
    # One authenticator app per account: a second one waits for the first to be removed.
    assert client.get("/account/security/totp").status_code == 409


def enroll_totp_with(client, secret: str) -> list[str]:
    page = client.post("/account/security/totp", {"code": pyotp.TOTP(secret).now()})
    assert page.status_code == 200
    return [line.split("<code>")[1].split("<")[0] for line in page.content.decode().split("<li>")[1:]]


def test_removing_a_factor_after_an_old_login_needs_the_password(client, user):
    client.force_login(user)
    enroll_totp(client)
    factor = Authenticator.objects.get(user=user)
    type(user).objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(minutes=11))
    page = client.get("/account/security").content.decode()
    assert 'name="password"' in page  # the form asks for it
    refused = client.post(f"/account/security/factors/{factor.pk}/remove", {"password": "wrong"})
    assert refused.status_code == 403 and Authenticator.objects.filter(pk=factor.pk).exists()
    done = client.post(f"/account/security/factors/{factor.pk}/remove", {"password": PASSWORD})
    assert done.status_code == 302 and not Authenticator.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()  # the last factor takes its recovery codes
    assert AuditEvent.objects.filter(action="mfa.remove").exists()


def test_someone_elses_factor_cannot_be_removed(client, user):
    client.force_login(user)
    enroll_totp(client)
    other = get_user_model().objects.create_user(username="eve", password=PASSWORD)
    client.force_login(other)
    factor = Authenticator.objects.get(user=user)
    assert client.post(f"/account/security/factors/{factor.pk}/remove", {"password": PASSWORD}).status_code == 404


def test_new_recovery_codes_void_the_old_ones(client, user):
    client.force_login(user)
    old = enroll_totp(client)
    page = client.post("/account/security/recovery-codes")
    assert page.status_code == 200  # a login within 10 minutes: no password asked
    new = [line.split("<code>")[1].split("<")[0] for line in page.content.decode().split("<li>")[1:]]
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCode.objects.filter(user=user).count() == 10


def test_the_passkey_page_offers_a_registration_for_the_issuer(client, user):
    client.force_login(user)
    page = client.get("/account/security/passkey")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="passkey-options"' in body and "js/passkey.js" in body
    # A forged answer is refused with a message, and nothing is stored.
    refused = client.post("/account/security/passkey", {"credential": "{}", "name": "Mine"})
    assert refused.status_code == 400 and "could not be registered" in refused.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()
