"""Malformed input on the portal's and the server's pages, over HTTP: ids beyond 64 bits, names far
over any field's length, forms in a charset Django does not read. Each is a 4xx page, never a 500."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from oauthcore.conf import DEFAULTS
from oauthcore.models import Application
from portal.partners.models import Partner

pytestmark = pytest.mark.django_db

BEYOND_64_BITS = "9223372036854775808"  # 2**63: one past the largest id
FAR_BEYOND = "9" * 30


# -- ids in URLs ---------------------------------------------------------------------------------------------


def partner_paths(partner_id: str, app, row_id: str) -> list[tuple[str, str]]:
    return [
        ("get", f"/portal/{partner_id}/"),
        ("get", f"/portal/{partner_id}/team"),
        ("get", f"/portal/{partner_id}/apps/{app.client_id}/"),
        ("post", f"/portal/{partner_id}/team/{row_id}/role"),
        ("post", f"/portal/{partner_id}/team/{row_id}/remove"),
        ("post", f"/portal/{partner_id}/invitations/{row_id}/cancel"),
        ("post", f"/portal/{partner_id}/apps/{app.client_id}/previous-secrets/{row_id}/end"),
    ]


@pytest.mark.parametrize("huge", [BEYOND_64_BITS, FAR_BEYOND])
def test_an_id_beyond_64_bits_is_a_404_not_a_500(client, acme, huge):
    """Django's int converter passed the number on; the database driver could not bind it (OverflowError)."""
    client.force_login(acme.owner)
    own = str(acme.partner.pk)
    for method, path in partner_paths(huge, acme.app, "1") + partner_paths(own, acme.app, huge)[3:]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, (path, response.status_code)


def test_the_largest_id_is_still_an_id(client, acme):
    client.force_login(acme.owner)
    assert client.get(f"/portal/{2**63 - 1}/").status_code == 404  # no such partner, but a lookup ran
    assert client.get(f"/portal/{acme.partner.pk}/").status_code == 200
    assert reverse("portal:dashboard", args=[acme.partner.pk]) == f"/portal/{acme.partner.pk}/"


# -- names far over their fields' length ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["username", "email", "name", "website"])
def test_a_sixty_thousand_character_sign_up_field_is_a_field_error(client, acme, field):
    data = {
        "name": "Initech",
        "email": "peter@initech.example",
        "username": "peter",
        "password": "a long portal passphrase 7",
        field: ("x" * 60_000) + ("@initech.example" if field == "email" else ""),
    }
    if field == "website":
        data[field] = "https://" + "x" * 60_000 + ".example"
    response = client.post("/portal/signup", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Partner.objects.filter(name="Initech").exists() or field == "name"


# -- the app forms: as bounded as the management API -----------------------------------------------------


@pytest.mark.parametrize("field", ["callbacks", "allowed_origins", "web_origins"])
@pytest.mark.parametrize("page", ["new", "edit"])
def test_an_app_form_with_sixty_thousand_urls_is_a_field_error(client, acme, field, page):
    client.force_login(acme.developer)
    urls = "\n".join(f"https://flood.example.com/{n}" for n in range(60_000))
    data = {"name": "Flood", "app_type": "regular_web", field: urls}
    if page == "new":
        url = reverse("portal:app-new", args=[acme.partner.pk])
    else:
        url = reverse("portal:app-edit", args=[acme.partner.pk, acme.app.client_id])
    response = client.post(url, data)
    assert response.status_code == 400
    (message,) = response.context["form"].errors[field]
    assert message.endswith(f"holds at most {DEFAULTS['CLIENT_METADATA_MAX_URIS']} URLs (60000 given).")
    assert not Application.objects.filter(name="Flood").exists()
    acme.app.refresh_from_db()
    assert acme.app.callbacks == ["https://acme.example.com/callback"]


# -- forms in UTF-16, with DEBUG on ------------------------------------------------------------------------

CSRF_SECRET = "utf16formutf16formutf16formutf16"


def form_surfaces(acme) -> list[str]:
    partner = acme.partner.pk
    return [
        "/login",
        "/portal/login",
        "/logout",
        "/admin/login/",
        "/admin/oauthcore/application/add/",
        "/portal/signup",
        "/portal/invitations/no-such-token",
        f"/portal/{partner}/apps/new",
        f"/portal/{partner}/apps/{acme.app.client_id}/edit",
        f"/portal/{partner}/team/invite",
        f"/portal/{partner}/settings",
        f"/portal/{partner}/delete",
        "/activate",
        "/authorize",
        "/account/apps/none/revoke",
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/device/code",
    ]


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_utf16_form_is_a_400_on_every_form_surface_with_debug_on(settings_debug, acme, signed_in):
    """With DEBUG on, a BadRequest raised on reading the form was Django's technical 500 page."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    if signed_in:
        acme.owner.is_staff = acme.owner.is_superuser = True
        acme.owner.save()
        client.force_login(acme.owner)
    body = f"csrfmiddlewaretoken={CSRF_SECRET}&name=Caf\u00e9&username=caf\u00e9".encode("utf-16")
    for path in form_surfaces(acme):
        response = client.generic("POST", path, body, content_type="application/x-www-form-urlencoded; charset=utf-16")
        assert response.status_code == 400, (path, response.status_code)
        assert b"Traceback" not in response.content, path


@pytest.fixture
def settings_debug(settings):
    settings.DEBUG = True
