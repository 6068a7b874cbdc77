"""Dangerous changes in the console say what they do before they do it, in a real Chromium at a
desktop's and a phone's width: nothing changes until the admin confirms, then the change is made.

A default permission for every third-party machine-to-machine app, a connection taken off domain
level, and the delete pages of an API, an app and a partner (what goes with each, counted).
"""

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.audit import Actor
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, DefaultFor, SubjectType
from oauthcore.models import AccessToken, Application, ClientGrant, Connection, RefreshToken, ResourceServer
from oauthcore.services.applications import application_create
from portal.partners.management.commands.seed_demo import ORDERS_API, PARTNER_NAME
from portal.partners.models import Partner, PartnerMembership
from tests.e2e.console import WIDTHS, overflow
from tests.oauthcore.test_admin import make_tokens

ACTOR = Actor.system("tests")


def add_machine_apps(count: int) -> None:
    for n in range(count):
        application_create(
            actor=ACTOR, name=f"Partner sync {n}", app_type=AppType.NON_INTERACTIVE, is_first_party=False
        )


def alice():
    return get_user_model().objects.get(username="alice")


def acme_order_sync() -> Application:
    return Application.objects.get(name="Acme Order Sync")


def sign_in_through_acme(count: int = 2) -> None:
    """Alice has used Acme Order Sync on the Orders API: her consent and tokens."""
    make_tokens(acme_order_sync(), alice(), ORDERS_API, count=count)
    user_grant_record(user=alice(), client=acme_order_sync(), audience=ORDERS_API, scopes=["read:orders"])


def notices(page) -> str:
    # A click that submits a form returns once the next page starts arriving: read it whole.
    page.wait_for_load_state()
    return page.locator("#content").inner_text()


# -- a default permission for every third-party machine-to-machine app -----------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_default_permission_for_every_machine_app_waits_for_a_confirmation(console, width):
    add_machine_apps(3)
    page = console.open("/admin/oauthcore/clientgrant/add/", width=width)
    assert page.locator("#id_confirm_every_machine_app").count() == 0

    page.select_option("#id_default_for", "third_party_clients")
    page.select_option("#id_resource_server", ORDERS_API)
    page.select_option("#id_subject_type", "client")
    page.fill("#id_scope", "read:orders")
    page.click("input[name=_save]")

    warning = (
        "Every third-party machine-to-machine app — 3 today, and every new one — will get read:orders on "
        "Orders API without review."
    )
    assert warning in notices(page)
    assert page.locator("#id_confirm_every_machine_app").is_visible()
    assert not ClientGrant.objects.filter(default_for__isnull=False, subject_type=SubjectType.CLIENT).exists()
    assert overflow(page) == 0
    console.shoot(page, "default-permission-confirm", width)

    page.check("#id_confirm_every_machine_app")
    page.click("input[name=_save]")

    page.wait_for_url("**/admin/oauthcore/clientgrant/")
    grant = ClientGrant.objects.get(default_for=DefaultFor.THIRD_PARTY_CLIENTS, subject_type=SubjectType.CLIENT)
    assert (grant.resource_server_id, grant.scope) == (ORDERS_API, ["read:orders"])


# -- taking a connection off domain level ----------------------------------------------------------------------


def database_connection() -> Connection:
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


@pytest.mark.parametrize("width", WIDTHS)
def test_demoting_a_connection_says_whom_it_cuts_off_and_waits_for_a_confirmation(console, width):
    connection = database_connection()
    page = console.open(f"/admin/oauthcore/connection/{connection.pk}/change/", width=width)
    assert page.locator("#id_is_domain_connection").is_checked()
    users = get_user_model().objects.filter(connection=connection).count()
    assert f"Its {users} users, in first-party apps and, being at domain level, in third-party apps" in notices(page)
    assert overflow(page) == 0
    console.shoot(page, "connection", width)

    page.uncheck("#id_is_domain_connection")
    page.click("input[name=_save]")

    assert (
        f"Demoting {DATABASE_CONNECTION_NAME} from domain level: 1 third-party app can no longer sign users in "
        f"through it, and its {users} users can no longer sign in to any third-party app."
    ) in notices(page)
    assert database_connection().is_domain_connection
    assert overflow(page) == 0
    console.shoot(page, "connection-demote", width)

    page.uncheck("#id_is_domain_connection")  # as the admin left it
    page.check("#id_confirm_demotion")
    page.click("input[name=_save]")

    page.wait_for_url("**/admin/oauthcore/connection/")
    assert not database_connection().is_domain_connection


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demote_action_asks_before_it_demotes(console, width):
    page = console.open("/admin/oauthcore/connection/", width=width)
    page.check(f"input[name=_selected_action][value='{database_connection().pk}']")
    page.select_option("select[name=action]", "demote")
    page.click("button[name=index]")

    assert "can no longer sign users in through it" in notices(page)
    assert database_connection().is_domain_connection
    assert overflow(page) == 0
    console.shoot(page, "connection-demote-action", width)

    page.click("input[value='Yes, demote']")

    assert "1 connection(s) demoted from domain level." in page.locator("ul.messagelist").inner_text()
    assert not database_connection().is_domain_connection


# -- what goes with a deleted API, app or partner --------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_the_orders_api_says_what_goes_with_it(console, width):
    sign_in_through_acme(count=2)
    api = ResourceServer.objects.get(identifier=ORDERS_API)
    page = console.open(f"/admin/oauthcore/resourceserver/{api.pk}/delete/", width=width)

    summary = page.locator("#deletion-summary").inner_text()
    for line in (
        "2 client grants deleted.",
        "2 scopes deleted.",
        "2 access tokens deleted: they stop working at once.",
        "2 valid refresh tokens revoked: they stop working at once.",
    ):
        assert line in summary
    # Users' consents name the API by identifier: they go too, so an API made again asks again.
    consents = UserGrant.objects.filter(audience=ORDERS_API).count()
    assert consents and f"{consents} user consent{'s' if consents > 1 else ''} taken back." in summary
    assert ResourceServer.objects.filter(pk=api.pk).exists()
    assert overflow(page) == 0
    console.shoot(page, "delete-api", width)

    page.click("input[type=submit]")

    page.wait_for_url("**/admin/oauthcore/resourceserver/")
    assert not ResourceServer.objects.filter(pk=api.pk).exists()
    assert ClientGrant.objects.filter(resource_server_id=ORDERS_API).count() == 0
    assert AccessToken.objects.filter(audience=ORDERS_API).count() == 0
    assert RefreshToken.objects.filter(audience=ORDERS_API, revoked__isnull=True).count() == 0
    assert UserGrant.objects.filter(audience=ORDERS_API).count() == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_an_app_says_what_goes_with_it(console, width):
    sign_in_through_acme(count=2)
    app = acme_order_sync()
    page = console.open(f"/admin/oauthcore/application/{app.pk}/delete/", width=width)

    summary = page.locator("#deletion-summary").inner_text()
    for line in (
        "1 client grant deleted.",
        "1 user consent deleted.",
        "2 access tokens deleted: they stop working at once.",
        "2 refresh tokens deleted: they stop working at once.",
    ):
        assert line in summary
    assert overflow(page) == 0
    console.shoot(page, "delete-app", width)

    page.click("input[type=submit]")

    page.wait_for_url("**/admin/oauthcore/application/")
    assert not Application.objects.filter(pk=app.pk).exists()
    assert not UserGrant.objects.filter(client_id=app.pk).exists()
    assert not AccessToken.objects.filter(application_id=app.pk).exists()
    assert not ClientGrant.objects.filter(client_id=app.pk).exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_selected_apps_says_what_goes_with_them(console, width):
    sign_in_through_acme(count=1)
    app = acme_order_sync()
    page = console.open("/admin/oauthcore/application/", width=width)
    page.check(f"input[name=_selected_action][value='{app.pk}']")
    page.select_option("select[name=action]", "delete_selected")
    page.click("button[name=index]")

    assert "What goes with them" in notices(page)
    assert "1 user consent deleted." in page.locator("#deletion-summary").inner_text()
    assert Application.objects.filter(pk=app.pk).exists()
    assert overflow(page) == 0

    page.click("input[type=submit]")

    page.wait_for_url("**/admin/oauthcore/application/")
    assert not Application.objects.filter(pk=app.pk).exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_a_partner_says_what_goes_with_it(console, width):
    sign_in_through_acme(count=2)
    partner = Partner.objects.get(name=PARTNER_NAME)
    members = PartnerMembership.objects.filter(partner=partner).count()
    page = console.open(f"/admin/portal/partner/{partner.pk}/delete/", width=width)

    summary = page.locator("#deletion-summary").inner_text()
    for line in (
        "1 application deleted.",
        "1 user consent deleted.",
        "2 access tokens deleted: they stop working at once.",
        f"{members} partner membership{'s' if members != 1 else ''} deleted.",
    ):
        assert line in summary
    assert overflow(page) == 0
    console.shoot(page, "delete-partner", width)

    page.click("input[type=submit]")

    page.wait_for_url("**/admin/portal/partner/")
    assert not Partner.objects.filter(pk=partner.pk).exists()
    assert not Application.objects.filter(name="Acme Order Sync").exists()
    assert not PartnerMembership.objects.filter(partner_id=partner.pk).exists()
