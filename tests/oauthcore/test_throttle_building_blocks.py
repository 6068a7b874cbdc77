"""What every rate limit shares: its defaults, and who counts as one caller."""

import pytest
from django.test import RequestFactory

from oauthcore.throttle import PORTAL_EMAIL, REGISTRATION, SIGNUP, TOKEN, client_address

pytestmark = pytest.mark.django_db


def test_the_defaults_apply_without_settings():
    assert str(TOKEN.rate) == "600/60s"
    assert str(REGISTRATION.rate) == "5/1s"  # per tenant, as Auth0's
    assert str(SIGNUP.rate) == "10/3600s" and str(PORTAL_EMAIL.rate) == "30/3600s"


def test_a_setting_overrides_one_limit_and_keeps_the_others(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"signup": "2/m"}}
    assert str(SIGNUP.rate) == "2/60s"
    assert str(REGISTRATION.rate) == "5/1s"


def test_client_address_ignores_forwarded_headers_unless_a_proxy_is_trusted(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address(request) == "10.0.0.1"
    settings.PORTCULLIS = {**settings.PORTCULLIS, "TRUSTED_PROXY_HOPS": 1}
    assert client_address(request) == "6.6.6.6"
