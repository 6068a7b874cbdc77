"""The management API refuses an http logo like every other way a logo reaches an app (the rule:
``oauthcore.validation.logo_uri_error``), in its own error envelope."""

import pytest

from oauthcore.models import Application
from oauthcore.validation import LOGO_URI_ERROR
from tests.oauthcore.api.conftest import assert_error
from tests.oauthcore.api.test_resources import ALL

pytestmark = pytest.mark.django_db

HTTP_LOGO = "http://cdn.example.com/logo.png"
HTTPS_LOGO = "https://cdn.example.com/logo.png"


def test_the_management_api_answers_400_in_its_error_envelope(api, make_app):
    admin = api(*ALL)
    response = admin.post("/api/v2/clients", {"name": "Mine", "logo_uri": HTTP_LOGO}, format="json")
    assert_error(response, 400, "invalid_body", f"logo_uri: {LOGO_URI_ERROR}")
    assert not Application.objects.filter(name="Mine").exists()
    app = make_app(name="Theirs", logo_uri=HTTPS_LOGO)
    response = admin.patch(f"/api/v2/clients/{app.client_id}", {"logo_uri": HTTP_LOGO}, format="json")
    assert_error(response, 400, "invalid_body", f"logo_uri: {LOGO_URI_ERROR}")
    assert Application.objects.get(pk=app.pk).logo_uri == HTTPS_LOGO
    created = admin.post("/api/v2/clients", {"name": "Mine", "logo_uri": HTTPS_LOGO}, format="json")
    assert created.status_code == 201 and created.json()["logo_uri"] == HTTPS_LOGO
