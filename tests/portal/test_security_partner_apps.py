"""A partner-owned app is third party and strict on every path that creates one (issue 15, point 17), and
the admin's and the portal's pages that show a new client secret are never stored (point 9)."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.constants import AppType, SecurityMode
from oauthcore.models import Application
from portal.partners.models import PartnerApplication
from portal.partners.services.apps import partner_application_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

SECRET_RE = re.compile(r'<code id="new-secret">([^<]+)</code>')
ADMIN_SECRET_RE = re.compile(r"client secret of .*? is <code>([^<]+)</code>")


def app_url(view="changelist", *args):
    return reverse(f"admin:oauthcore_application_{view}", args=args)


def add_form(**fields) -> dict:
    return {
        "name": "Acme sync",
        "app_type": "regular_web",
        "redirect_uris": "https://acme.example.com/cb",
        "grant_types": ["authorization_code"],
        "client_metadata": "{}",
        **fields,
    }


def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"], response.headers
    assert response["Pragma"] == "no-cache", response.headers


# -- point 17: a partner's app is third party and strict ---------------------------------------------------


def test_the_admin_refuses_a_first_party_app_for_a_partner(admin_client, acme):
    response = admin_client.post(app_url("add"), add_form(partner=acme.partner.pk, is_first_party="on"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["is_first_party"] == [
        "An app owned by a partner is third party: it cannot be first party. "
        "Untick “first party”, or leave the partner empty."
    ]
    assert not Application.objects.filter(name="Acme sync").exists()


def test_the_admin_refuses_a_permissive_app_for_a_partner(admin_client, acme):
    response = admin_client.post(
        app_url("add"), add_form(partner=acme.partner.pk, third_party_security_mode=SecurityMode.PERMISSIVE)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["third_party_security_mode"] == [
        "An app owned by a partner is strict: it cannot be permissive. Choose strict, or leave the partner empty."
    ]
    assert not Application.objects.filter(name="Acme sync").exists()


def test_the_admin_makes_a_partners_app_third_party_and_strict(admin_client, acme):
    response = admin_client.post(app_url("add"), add_form(partner=acme.partner.pk))

    assert response.status_code == 302
    app = Application.objects.get(name="Acme sync")
    assert app.partner_link.partner == acme.partner
    assert (app.is_first_party, app.third_party_security_mode) == (False, SecurityMode.STRICT)
    assert app.client_id.startswith("tpc_")


def test_the_service_refuses_first_party_or_permissive_partner_apps(acme):
    for fields, field in (
        ({"is_first_party": True}, "is_first_party"),
        ({"third_party_security_mode": SecurityMode.PERMISSIVE}, "third_party_security_mode"),
    ):
        with pytest.raises(ValidationError) as excinfo:
            partner_application_create(
                actor=Actor.system("tests"), partner=acme.partner, name="Sneaky", app_type=AppType.SPA, **fields
            )
        assert list(excinfo.value.message_dict) == [field]
    assert not Application.objects.filter(name="Sneaky").exists()

    issued = partner_application_create(
        actor=Actor.system("tests"), partner=acme.partner, name="Plain", app_type=AppType.SPA
    )
    assert issued.application.is_strict_third_party
    assert PartnerApplication.objects.get(application=issued.application).partner == acme.partner


# -- point 9: the pages that show a new secret once ---------------------------------------------------------


def test_the_admin_pages_showing_a_new_secret_are_never_stored(admin_client):
    added = admin_client.post(
        app_url("add"), add_form(app_type="non_interactive", grant_types=["client_credentials"]), follow=True
    )
    assert ADMIN_SECRET_RE.search(added.content.decode())
    assert_no_store(added)

    app = Application.objects.get(name="Acme sync")
    rotated = admin_client.post(
        app_url(), {"action": "rotate_secret", "_selected_action": [app.pk], "index": "0"}, follow=True
    )
    assert "The new client secret" in rotated.content.decode()
    assert_no_store(rotated)


def test_the_portal_pages_showing_a_new_secret_are_never_stored(client, acme):
    client.force_login(acme.developer)
    created = client.post(
        reverse("portal:app-new", args=[acme.partner.pk]),
        {"name": "Acme Batch", "app_type": AppType.NON_INTERACTIVE},
    )
    assert created.status_code == 201 and SECRET_RE.search(created.content.decode())
    assert_no_store(created)

    rotate = reverse("portal:app-rotate", args=[acme.partner.pk, acme.m2m.client_id])
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):  # the page, and the panel htmx swaps in
        rotated = client.post(rotate, {"grace": "0"}, **headers)
        assert rotated.status_code == 200 and SECRET_RE.search(rotated.content.decode())
        assert_no_store(rotated)
