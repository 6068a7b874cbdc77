"""Tokens for the management API, stored exactly as the token endpoint stores them."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import set_token_value
from rest_framework.test import APIClient

from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType
from oauthcore.models import AccessToken


@pytest.fixture
def caller(make_app):
    """The acting client: a first-party machine-to-machine app."""
    return make_app(name="Automation", app_type=AppType.NON_INTERACTIVE, callbacks=[])


@pytest.fixture
def make_token(caller):
    def make(*scopes, audience=None, expires_in=3600, application=None):
        token = AccessToken(
            application=application or caller,
            scope=" ".join(scopes),
            expires=timezone.now() + timedelta(seconds=expires_in),
            resource=[audience or portcullis_settings.management_api_identifier],
        )
        raw = secrets.token_urlsafe(32)
        set_token_value(token, raw)
        token.save()
        return raw

    return make


@pytest.fixture
def api(make_token):
    """``api(*scopes)``: a client sending a bearer token with these scopes."""

    def make(*scopes, **kwargs):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(*scopes, **kwargs)}")
        return client

    return make


def assert_error(response, status: int, error_code: str, message: str | None = None):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"statusCode", "error", "message", "errorCode"}, body
    assert body["statusCode"] == status and body["errorCode"] == error_code, body
    if message is not None:
        assert message in body["message"], body
    return body
