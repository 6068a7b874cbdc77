"""Dangerous changes in the admin say what they do before they do it: a default permission that every
third-party machine-to-machine app gets without review, a connection taken off domain level, and the
delete pages of an API and of an app (what goes with them, counted, and really gone afterwards)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.audit import Actor
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, DefaultFor, GrantType, SubjectType
from oauthcore.models import (
    AccessToken,
    Application,
    AuditEvent,
    ClientGrant,
    Connection,
    Grant,
    RefreshToken,
    ResourceServer,
    ResourceServerScope,
)
from oauthcore.services.connections import connection_create, connection_set_domain_level
from oauthcore.services.users import user_create
from portal.partners.models import AccessRequest
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.partners import partner_create
from tests.oauthcore.test_admin import form_errors, grant_form, make_tokens, post_data, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

CONFIRM = "confirm_every_machine_app"


@pytest.fixture
def machine_apps(make_app, make_api, make_grant):
    """Two third-party machine-to-machine apps a default grant on ``api`` reaches, and apps it does not:
    one with a grant of its own, a first-party one and a third-party web app. Returns the API."""
    api = make_api(name="Orders API")
    for name in ("Sync one", "Sync two"):
        make_app(name=name, app_type=AppType.NON_INTERACTIVE, is_first_party=False, callbacks=[])
    own = make_app(name="Sync own", app_type=AppType.NON_INTERACTIVE, is_first_party=False, callbacks=[])
    make_grant(api, client=own, scope=["read:things"])
    make_app(name="Back end", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_app(name="Partner web", is_first_party=False)
    return api


# -- a default permission for every third-party machine-to-machine app -----------------------------------------


def test_a_default_client_grant_is_not_saved_until_confirmed(admin_client, machine_apps):
    api = machine_apps
    opened = admin_client.get(url(ClientGrant, "add"))
    assert CONFIRM not in opened.text  # a page just opened asks nothing yet

    data = grant_form(api, default_for="third_party_clients", scope="read:things write:things")
    refused = admin_client.post(url(ClientGrant, "add"), data)

    assert refused.status_code == 200
    assert form_errors(refused)[CONFIRM] == [
        "Every third-party machine-to-machine app — 2 today, and every new one — will get read:things and "
        "write:things on Orders API without review. Tick the box to confirm."
    ]
    assert f'name="{CONFIRM}"' in refused.text and "without review" in refused.text
    assert not ClientGrant.objects.filter(default_for__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="client_grant.create", data__default_for="third_party_clients").exists()

    saved = admin_client.post(url(ClientGrant, "add"), {**data, CONFIRM: "on"})

    assert saved.status_code == 302
    grant = ClientGrant.objects.get(default_for=DefaultFor.THIRD_PARTY_CLIENTS)
    assert (grant.subject_type, grant.scope) == (SubjectType.CLIENT, ["read:things", "write:things"])


def test_all_scopes_for_every_machine_app_says_present_and_future(admin_client, machine_apps):
    data = grant_form(machine_apps, default_for="third_party_clients", allow_all_scopes="on")

    refused = admin_client.post(url(ClientGrant, "add"), data)

    assert "will get every scope of Orders API, present and future, without review" in str(
        form_errors(refused)[CONFIRM]
    )
    assert not ClientGrant.objects.filter(default_for__isnull=False).exists()


def test_grants_that_reach_no_machine_app_without_review_save_at_once(admin_client, machine_apps, make_app):
    """A user-delegated default (each user still sees the consent screen), and one app's own grant."""
    for data in (
        grant_form(machine_apps, default_for="third_party_clients", subject_type="user", scope="read:things"),
        grant_form(machine_apps, client=make_app(name="Shop").pk, scope="read:things"),
    ):
        assert admin_client.post(url(ClientGrant, "add"), data).status_code == 302
    assert ClientGrant.objects.filter(resource_server=machine_apps).count() == 3


def test_widening_a_default_client_grant_asks_narrowing_does_not(admin_client, machine_apps, make_grant):
    grant = make_grant(machine_apps, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"])
    change = url(ClientGrant, "change", grant.pk)

    widened = admin_client.post(change, post_data(admin_client.get(change), scope="read:things write:things"))
    assert widened.status_code == 200
    assert "will get write:things on Orders API without review" in str(form_errors(widened)[CONFIRM])
    grant.refresh_from_db()
    assert grant.scope == ["read:things"]

    confirmed = post_data(admin_client.get(change), scope="read:things write:things", **{CONFIRM: "on"})
    assert admin_client.post(change, confirmed).status_code == 302
    grant.refresh_from_db()
    assert grant.scope == ["read:things", "write:things"]

    narrowed = admin_client.post(change, post_data(admin_client.get(change), scope="write:things"))
    assert narrowed.status_code == 302
    grant.refresh_from_db()
    assert grant.scope == ["write:things"]


def test_other_errors_come_before_the_confirmation(admin_client, machine_apps):
    data = grant_form(machine_apps, default_for="third_party_clients", scope="read:nothing")

    refused = admin_client.post(url(ClientGrant, "add"), data)

    errors = form_errors(refused)
    assert "read:nothing" in str(errors) and CONFIRM not in errors


# -- taking a connection off domain level ----------------------------------------------------------------------


@pytest.fixture
def domain_level(actor, machine_apps, make_app):
    """A domain-level connection with three users; the tenant has two third-party apps that sign users in
    (Partner web, and Partner device: the third-party machine apps sign no one in)."""
    connection = connection_create(actor=actor, name="partners-db")
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    make_app(
        name="Partner device",
        app_type=AppType.NATIVE,
        is_first_party=False,
        third_party_security_mode="permissive",
        grant_types=[GrantType.DEVICE_CODE],
    )
    for n in range(3):
        user_create(
            actor=actor, connection=connection, email=f"u{n}@example.com", username=f"u{n}", password="pw long one 7"
        )
    return connection


DEMOTION = (
    "Demoting partners-db from domain level: 2 third-party apps can no longer sign users in through it, and its "
    "3 users can no longer sign in to any third-party app. Their consents, and the tokens already issued, stay."
)


def test_demoting_a_connection_on_its_page_asks_and_names_who_it_affects(admin_client, domain_level):
    change = url(Connection, "change", domain_level.pk)
    page = admin_client.get(change)
    assert "confirm_demotion" not in page.text

    refused = admin_client.post(change, post_data(page, is_domain_connection=""))

    assert refused.status_code == 200
    assert form_errors(refused)["confirm_demotion"] == [f"{DEMOTION} Tick the box to confirm."]
    domain_level.refresh_from_db()
    assert domain_level.is_domain_connection
    assert not AuditEvent.objects.filter(action="connection.demote").exists()

    confirmed = admin_client.post(change, post_data(page, is_domain_connection="", confirm_demotion="on"))

    assert confirmed.status_code == 302
    domain_level.refresh_from_db()
    assert not domain_level.is_domain_connection
    assert AuditEvent.objects.filter(action="connection.demote", target_id=domain_level.pk).exists()


def test_other_connection_changes_ask_nothing(admin_client, domain_level):
    change = url(Connection, "change", domain_level.pk)
    renamed = admin_client.post(change, post_data(admin_client.get(change), display_name="Partners"))
    assert renamed.status_code == 302

    connection_set_domain_level(actor=Actor.system("tests"), connection=domain_level, is_domain_connection=False)
    promoted = admin_client.post(change, post_data(admin_client.get(change), is_domain_connection="on"))
    assert promoted.status_code == 302
    domain_level.refresh_from_db()
    assert (domain_level.display_name, domain_level.is_domain_connection) == ("Partners", True)


def test_the_demote_action_asks_first(admin_client, domain_level):
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)  # not at domain level: nothing to say
    selected = {"action": "demote", "_selected_action": [domain_level.pk, database.pk]}

    with CaptureQueriesContext(db_connection) as queries:
        step = admin_client.post(url(Connection), selected)

    assert step.status_code == 200
    assert step.context["warnings"] == [DEMOTION]
    assert DEMOTION in step.content.decode() and 'name="confirm" value="yes"' in step.text
    assert len(queries) <= 12
    domain_level.refresh_from_db()
    assert domain_level.is_domain_connection

    done = admin_client.post(url(Connection), {**selected, "confirm": "yes"}, follow=True)

    domain_level.refresh_from_db()
    assert not domain_level.is_domain_connection
    assert any("1 connection(s) demoted" in str(m) for m in done.context["messages"])


# -- what goes with a deleted API or app -----------------------------------------------------------------------


@pytest.fixture
def tenant(actor, make_api, make_app, make_grant):
    """Two APIs and two apps with grants, tokens, consents and access requests on both."""
    user = get_user_model().objects.create_user(username="carol", email="carol@example.com", password=None)
    owner = get_user_model().objects.create_user(username="olga", email="olga@example.com", password=None)
    partner = partner_create(actor=actor, name="Acme", owner=owner)
    apis = [make_api(name="Orders API"), make_api(name="Catalog API")]
    apps = [make_app(name=f"Shop {n}", is_first_party=False, partner=partner) for n in range(2)]
    for api in apis:
        for app in apps:
            make_grant(api, client=app, scope=["read:things"], subject_type=SubjectType.USER)
            make_tokens(app, user, api.identifier, count=2)
            user_grant_record(user=user, client=app, audience=api.identifier, scopes=["read:things"])
            access_request_create(
                actor=Actor.user(owner),
                partner=partner,
                client=app,
                resource_server=api,
                subject_type="client",
                scope=["write:things"],
                justification="We sync orders.",
                requested_by=owner,
            )
    return apis, apps


def summary_of(response) -> list[str]:
    return [str(c) for c in response.wsgi_request.deletion_summary.shown]


def test_deleting_an_api_says_what_goes_with_it_and_that_is_what_goes(admin_client, tenant):
    (orders, catalog), _ = tenant
    page = admin_client.get(url(ResourceServer, "delete", orders.pk))

    assert summary_of(page) == [
        "2 client grants deleted",
        "2 scopes deleted",
        "2 access requests deleted",
        "4 access tokens deleted: they stop working at once",
        "4 valid refresh tokens revoked: they stop working at once",
        "4 authorization codes deleted",
        "2 user consents taken back",
    ]
    text = page.content.decode()
    assert "What goes with it" in text and "4 access tokens deleted: they stop working at once." in text

    admin_client.post(url(ResourceServer, "delete", orders.pk), {"post": "yes"})

    assert not ResourceServer.objects.filter(pk=orders.pk).exists()
    assert ClientGrant.objects.filter(resource_server_id=orders.identifier).count() == 0
    assert ResourceServerScope.objects.filter(resource_server_id=orders.pk).count() == 0
    assert AccessRequest.objects.filter(resource_server_id=orders.pk).count() == 0
    assert AccessToken.objects.filter(audience=orders.identifier).count() == 0
    assert RefreshToken.objects.filter(audience=orders.identifier, revoked__isnull=True).count() == 0
    assert Grant.objects.filter(audience=orders.identifier).count() == 0
    assert UserGrant.objects.filter(audience=orders.identifier).count() == 0  # taken back, as the page says
    assert AccessToken.objects.filter(audience=catalog.identifier).count() == 4  # the other API keeps its own


def test_deleting_an_app_says_what_goes_with_it_and_that_is_what_goes(admin_client, tenant):
    _, (shop, other) = tenant
    page = admin_client.get(url(Application, "delete", shop.pk))

    assert summary_of(page) == [
        "2 client grants deleted",
        "4 authorization codes deleted",
        "4 access tokens deleted: they stop working at once",
        "4 refresh tokens deleted: they stop working at once",
        "2 user consents deleted",
        "2 access requests deleted",
    ]
    assert "4 refresh tokens deleted: they stop working at once." in page.content.decode()

    admin_client.post(url(Application, "delete", shop.pk), {"post": "yes"})

    assert not Application.objects.filter(pk=shop.pk).exists()
    kept_by_the_other_app = {
        (ClientGrant, "client_id"): 2,
        (Grant, "application_id"): 4,
        (AccessToken, "application_id"): 4,
        (RefreshToken, "application_id"): 4,
        (UserGrant, "client_id"): 2,
        (AccessRequest, "client_id"): 2,
    }
    for (model, field), count in kept_by_the_other_app.items():
        assert model.objects.filter(**{field: shop.pk}).count() == 0, model
        assert model.objects.filter(**{field: other.pk}).count() == count, model


def test_the_delete_selected_action_sums_them_in_a_bounded_number_of_queries(admin_client, tenant, make_app):
    _, apps = tenant

    def confirmation(selected):
        with CaptureQueriesContext(db_connection) as queries:
            page = admin_client.post(
                url(Application), {"action": "delete_selected", "_selected_action": [a.pk for a in selected]}
            )
        return page, len(queries)

    _, one_queries = confirmation(apps[:1])
    both, both_queries = confirmation(apps)

    assert "4 client grants deleted" in summary_of(both) and "4 user consents deleted" in summary_of(both)
    assert "What goes with them" in both.content.decode()
    assert both_queries <= one_queries, (one_queries, both_queries)  # not one more per app
    assert Application.objects.filter(pk__in=[a.pk for a in apps]).count() == 2  # nothing deleted yet

    admin_client.post(
        url(Application), {"action": "delete_selected", "_selected_action": [a.pk for a in apps], "post": "yes"}
    )
    assert not Application.objects.filter(pk__in=[a.pk for a in apps]).exists()
    assert not UserGrant.objects.exists() and not AccessToken.objects.exists()


def test_an_admin_without_the_right_to_delete_what_goes_with_it_may_not_delete(client, tenant):
    """As on Django's own page: the right to delete each kind of row that goes with the app."""
    from django.contrib.auth.models import Permission

    _, (shop, _other) = tenant
    staff = get_user_model().objects.create_user(username="sam", email="sam@example.com", password=None)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_application", "delete_application", "delete_clientgrant"])
    )
    client.force_login(staff)

    page = client.get(url(Application, "delete", shop.pk))

    assert page.status_code == 200
    assert {str(name) for name in page.context["perms_lacking"]} == {"user consent", "access request"}
    assert client.post(url(Application, "delete", shop.pk), {"post": "yes"}).status_code == 403
    assert Application.objects.filter(pk=shop.pk).exists()


def test_an_app_with_nothing_to_lose_says_so(admin_client, make_app):
    app = make_app(name="Fresh")

    page = admin_client.get(url(Application, "delete", app.pk))

    assert summary_of(page) == []
    assert "Nothing else: no grant, consent, token or request goes with it." in page.content.decode()


def test_the_management_api_creates_a_default_client_grant_without_asking(machine_apps, make_app):
    """Only the console asks: the management API stays Auth0's (no confirmation field)."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import set_token_value
    from rest_framework.test import APIClient

    from oauthcore.conf import portcullis_settings

    token = AccessToken(
        application=make_app(name="Automation", app_type=AppType.NON_INTERACTIVE, callbacks=[]),
        scope="create:client_grants",
        expires=timezone.now() + timedelta(hours=1),
        resource=[portcullis_settings.management_api_identifier],
    )
    raw = secrets.token_urlsafe(32)
    set_token_value(token, raw)
    token.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.post(
        "/api/v2/client-grants",
        {"audience": machine_apps.identifier, "default_for": "third_party_clients", "scope": ["read:things"]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert ClientGrant.objects.filter(default_for=DefaultFor.THIRD_PARTY_CLIENTS, subject_type="client").exists()


def test_a_default_grant_page_says_who_gets_it(admin_client, machine_apps, make_grant, make_app):
    default = make_grant(machine_apps, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"])
    own = make_grant(machine_apps, client=make_app(name="Shop"), scope=["read:things"])

    assert (
        "Every third-party machine-to-machine app without a grant of its own — 2 today, and every new one — "
        "without review."
    ) in admin_client.get(url(ClientGrant, "change", default.pk)).content.decode()
    assert "This application only." in admin_client.get(url(ClientGrant, "change", own.pk)).content.decode()


def test_a_connection_page_says_who_signs_in_through_it(admin_client, domain_level):
    change = url(Connection, "change", domain_level.pk)
    assert (
        "Its 3 users, in first-party apps and, being at domain level, in third-party apps "
        "(those that sign users in: 2 today)." in admin_client.get(change).content.decode()
    )
    connection_set_domain_level(actor=Actor.system("tests"), connection=domain_level, is_domain_connection=False)
    assert "third-party apps cannot sign them in" in admin_client.get(change).content.decode()


def test_deleting_selected_apis_sums_what_goes_in_a_bounded_number_of_queries(admin_client, tenant):
    apis, _ = tenant

    def confirmation(selected):
        with CaptureQueriesContext(db_connection) as queries:
            page = admin_client.post(
                url(ResourceServer), {"action": "delete_selected", "_selected_action": [a.pk for a in selected]}
            )
        return page, len(queries)

    _, one = confirmation(apis[:1])
    both, two = confirmation(apis)

    assert summary_of(both)[0] == "4 client grants deleted"
    assert "8 access tokens deleted: they stop working at once" in summary_of(both)
    assert two <= one, (one, two)

    admin_client.post(
        url(ResourceServer), {"action": "delete_selected", "_selected_action": [a.pk for a in apis], "post": "yes"}
    )
    assert not ResourceServer.objects.filter(pk__in=[a.pk for a in apis]).exists()
    assert not AccessToken.objects.exists() and not ClientGrant.objects.filter(client__isnull=False).exists()
