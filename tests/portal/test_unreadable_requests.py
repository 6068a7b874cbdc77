"""Requests whose body cannot be read, or holds text no database can store, are a 400 in the shape
of the surface called, never a 500 (portal.platform.error_pages, portal.platform.request_guard). The management
API's case is in tests/oauthcore/api/test_security.py."""

import json

import pytest
from django.conf import settings
from django.test import Client

from oauthcore.models import Application, AuditEvent, TenantSettings
from portal.partners.models import Partner

pytestmark = pytest.mark.django_db

CSRF_SECRET = "unreadableunreadableunreadableun"  # 32 letters: a CSRF secret is also its own token
LATIN_1_FORM = "application/x-www-form-urlencoded; charset=latin-1"


def csrf_client() -> Client:
    """CSRF checks on, as in production: the check reads the form body too."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


@pytest.mark.parametrize("path", ["/portal/signup", "/login", "/portal/login", "/admin/login/"])
def test_a_form_declaring_a_charset_other_than_utf8_is_a_400_page(path):
    """Django refuses to parse such a form (BadRequest). Its 400 page then ran the CSRF check
    again, which read the body again and raised again: the answer was a 500."""
    body = f"csrfmiddlewaretoken={CSRF_SECRET}&name=Caf%E9&username=caf%E9&password=x".encode()
    response = csrf_client().generic("POST", path, body, content_type=LATIN_1_FORM)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"Bad Request (400)" in response.content
    assert not Partner.objects.exists()


def test_the_same_form_in_utf8_is_read():
    body = f"csrfmiddlewaretoken={CSRF_SECRET}&name=Caf%C3%A9".encode()
    response = csrf_client().generic("POST", "/portal/signup", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400  # the page again, with the missing fields marked
    assert "Café" in response.content.decode()


# "\ud800" is valid JSON text (an escape), but the string it decodes to has no UTF-8 encoding.
LONE_SURROGATE = '"Agent \\ud800"'


@pytest.fixture
def registration_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})


def test_a_lone_surrogate_in_a_registration_is_invalid_request(registration_on):
    body = f'{{"client_name": {LONE_SURROGATE}, "redirect_uris": ["https://agent.example.com/cb"]}}'
    response = Client().post("/oidc/register", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The request could not be read."}
    assert not Application.objects.exists() and not AuditEvent.objects.filter(action="client.create").exists()


def test_a_lone_surrogate_in_a_json_token_request_is_invalid_request():
    body = f'{{"grant_type": "client_credentials", "client_id": {LONE_SURROGATE}, "client_secret": "s"}}'
    response = Client().post("/oauth/token", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_surrogate_pairs_and_their_escapes_are_fine(registration_on):
    """A pair of escapes is one character (here an emoji): only a lone half is refused."""
    body = json.dumps({"client_name": "Agent \U0001f600", "redirect_uris": ["https://agent.example.com/cb"]})
    assert "\\ud83d\\ude00" in body
    response = Client().post("/oidc/register", body, content_type="application/json")
    assert response.status_code == 201 and response.json()["client_name"] == "Agent \U0001f600"
