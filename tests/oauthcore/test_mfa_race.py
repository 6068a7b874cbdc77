"""Two logins racing with one second-factor answer: one code of an authenticator app, or one
recovery code, logs in one browser only (RFC 6238 §5.2: a code is accepted once).

Collected when the suite runs on PostgreSQL (tests/conftest.py): it needs two connections writing
at once.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from oauthcore.audit import Actor
from oauthcore.services.mfa import totp_enroll_confirm, totp_enroll_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a long passphrase 9"


def race(answer: dict) -> list[bool]:
    """Two browsers type the password, then post ``answer`` at the same moment: who is signed in."""
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.post("/login", {"username": "kit", "password": PASSWORD})
    start = threading.Barrier(2)

    def post(browser):
        try:
            start.wait()
            browser.post("/login/mfa", answer)
            return "_auth_user_id" in browser.session
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(post, browsers))


@pytest.fixture
def secret_and_codes():
    user = get_user_model().objects.create_user(username="kit", password=PASSWORD)
    enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
    codes = totp_enroll_confirm(actor=Actor.user(user), user=user, code=pyotp.TOTP(enrollment.secret).now())
    return enrollment.secret, codes


def test_one_totp_code_signs_in_one_of_two_racing_browsers(secret_and_codes):
    secret, _codes = secret_and_codes
    assert race({"method": "otp", "code": pyotp.TOTP(secret).at(time.time() + 30)}) == [False, True]


def test_one_recovery_code_signs_in_one_of_two_racing_browsers(secret_and_codes):
    _secret, codes = secret_and_codes
    assert race({"method": "recovery", "recovery_code": codes[0]}) == [False, True]
