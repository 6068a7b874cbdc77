"""Requests whose body cannot be read are a 400 in the shape of the surface called, never a 500
(portal.error_pages)."""

import pytest
from django.conf import settings
from django.test import Client

from portal.models import Partner

pytestmark = pytest.mark.django_db

CSRF_SECRET = "unreadableunreadableunreadableun"  # 32 letters: a CSRF secret is also its own token
LATIN_1_FORM = "application/x-www-form-urlencoded; charset=latin-1"


def csrf_client() -> Client:
    """CSRF checks on, as in production: the check reads the form body too."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


@pytest.mark.parametrize("path", ["/portal/signup", "/login", "/admin/login/"])
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
