"""Revocations take effect at once, over HTTP: a suspended or deleted partner's apps get nothing
from any grant type, a refresh needs an active user and a live consent, and taking a consent, a
client grant or an app back stops its tokens in the same transaction, with no Celery worker running.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from oauthcore.constants import AppType, GrantType, SubjectType
from oauthcore.models import Application, AuditEvent, ClientGrant
from oauthcore.services.applications import application_create, application_delete, applications_set_suspended
from oauthcore.services.client_grants import client_grant_delete
from oauthcore.services.users import user_update
from portal.partners.models import PartnerStatus
from portal.partners.services.apps import partner_app_create
from portal.partners.services.partners import partner_create, partner_delete, partner_set_status
from tests.e2e.abuse_helpers import VERIFIER, authorization_code, code_client, make_orders_api
from tests.e2e.oauth_helpers import CSRF_RE, PASSWORD, Browser

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def worker_stopped():
    """No worker consumes the task queue during the test: a revocation that waited for a task
    would not have happened yet. With a broker, a worker this session started stops consuming
    until the test ends; without one, tasks would run eagerly (the test still holds)."""
    if not settings.CELERY_BROKER_URL:
        yield
        return
    from portal.celery import app

    queue = app.conf.task_default_queue
    workers = [name for reply in app.control.ping(timeout=0.5) for name in reply]
    if workers:
        app.control.cancel_consumer(queue, destination=workers, reply=True)
    try:
        yield
    finally:
        if workers:
            app.control.add_consumer(queue, destination=workers, reply=True)


@pytest.fixture
def orders(actor, make_api):
    return make_orders_api(actor, make_api)


@pytest.fixture
def partner(actor, alice):
    owner = get_user_model().objects.create_user(username="owner", email="owner@partner.example", password=PASSWORD)
    return partner_create(actor=actor, name="Acme Partners", owner=owner)


@pytest.fixture
def partner_web(actor, partner, make_grant, orders):
    """The partner's web app, with a user-delegated grant and refresh tokens: (app, secret)."""
    issued = partner_app_create(
        actor=actor,
        partner=partner,
        name="Acme Web",
        app_type=AppType.REGULAR_WEB,
        refresh_tokens=True,
        callbacks=["http://127.0.0.1:9999/callback"],
    )
    make_grant(orders.resource_server, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
    return issued.application, issued.client_secret


@pytest.fixture
def partner_m2m(actor, partner, make_grant, orders):
    """The partner's machine-to-machine app, with a client grant: (app, secret)."""
    issued = partner_app_create(actor=actor, partner=partner, name="Acme Sync", app_type=AppType.NON_INTERACTIVE)
    make_grant(orders.resource_server, client=issued.application, scope=["read:orders"])
    return issued.application, issued.client_secret


def token(live_server, **data) -> requests.Response:
    return requests.post(f"{live_server.url}/oauth/token", data=data, timeout=10)


def refresh(live_server, app, secret, refresh_token) -> requests.Response:
    return token(
        live_server,
        grant_type="refresh_token",
        refresh_token=refresh_token,
        client_id=app.client_id,
        client_secret=secret,
    )


def client_credentials(live_server, app, secret, orders) -> requests.Response:
    return token(
        live_server,
        grant_type="client_credentials",
        client_id=app.client_id,
        client_secret=secret,
        audience=orders.identifier,
    )


def tokens_for(live_server, app, secret, orders, browser=None) -> dict:
    """Log alice in, consent, and exchange the code: the app's access and refresh tokens."""
    client = code_client(app, secret)
    callback = authorization_code(live_server, browser or Browser(live_server.url), client, orders)
    issued = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=callback, code_verifier=VERIFIER
    )
    assert orders.introspect(live_server.url, issued["access_token"])["active"] is True
    return issued


def assert_refused(response: requests.Response, error: str, status: int = 400) -> dict:
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert "access_token" not in response.json()
    return response.json()


# -- a suspended or deleted partner's apps (point 13) ----------------------------------------------


def test_a_suspended_partners_apps_get_nothing_from_any_grant_type(
    live_server, actor, orders, partner, partner_web, partner_m2m
):
    web, web_secret = partner_web
    m2m, m2m_secret = partner_m2m
    browser = Browser(live_server.url)
    issued = tokens_for(live_server, web, web_secret, orders, browser)
    # A code obtained before the suspension and exchanged after it.
    client = code_client(web, web_secret)
    pending_code = authorization_code(live_server, browser, client, orders)
    machine = client_credentials(live_server, m2m, m2m_secret, orders).json()["access_token"]

    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.SUSPENDED)

    # Refresh: the token stopped.
    assert_refused(refresh(live_server, web, web_secret, issued["refresh_token"]), "unauthorized_client", 403)
    # Authorization code: the code issued before is refused.
    exchanged = requests.post(
        f"{live_server.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(pending_code).query)["code"][0],
            "redirect_uri": "http://127.0.0.1:9999/callback",
            "client_id": web.client_id,
            "client_secret": web_secret,
            "code_verifier": VERIFIER,
        },
        timeout=10,
    )
    assert_refused(exchanged, "unauthorized_client", 403)
    # /authorize: a new authorization is refused before anything is issued.
    url, _state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier
    )
    outcome = browser.authorize(url, username="alice")
    assert outcome.kind != "consent"
    assert "code" not in outcome.params
    assert "The client is suspended." in (outcome.params.get("error_description", "") + outcome.page_text)
    # Client credentials.
    refused = assert_refused(client_credentials(live_server, m2m, m2m_secret, orders), "unauthorized_client", 403)
    assert refused["error_description"] == "The client is suspended."
    # What was issued before introspects inactive.
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}
    assert orders.introspect(live_server.url, machine) == {"active": False}
    denial = AuditEvent.objects.filter(action="access.denied", actor_id=m2m.client_id).latest("pk")
    assert denial.data["reason"] == "client_suspended"
    assert denial.data["trace"] == ["denied: client_suspended"]


def test_a_suspended_apps_device_flow_gets_nothing(live_server, actor, orders, make_grant):
    """The device code, for every app the core suspends (partner apps are strict: no device flow)."""
    issued = application_create(
        actor=actor, name="Living Room TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    ).application
    make_grant(orders.resource_server, client=issued, scope=["read:orders"], subject_type=SubjectType.USER)
    ask = {"client_id": issued.client_id, "audience": orders.identifier, "scope": "read:orders"}
    device_code = requests.post(f"{live_server.url}/oauth/device/code", data=ask, timeout=10).json()["device_code"]

    applications_set_suspended(
        actor=actor, applications=Application.objects.filter(pk=issued.pk), suspended=True, reason="tests"
    )

    polled = token(live_server, grant_type=DEVICE_GRANT, device_code=device_code, client_id=issued.client_id)
    assert_refused(polled, "unauthorized_client", 403)
    asked = requests.post(f"{live_server.url}/oauth/device/code", data=ask, timeout=10)
    assert (asked.status_code, asked.json()["error"]) == (403, "unauthorized_client")


def test_reactivating_the_partner_lifts_the_suspension_but_revoked_tokens_stay_revoked(
    live_server, actor, orders, partner, partner_web, partner_m2m
):
    web, web_secret = partner_web
    m2m, m2m_secret = partner_m2m
    before = tokens_for(live_server, web, web_secret, orders)
    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.SUSPENDED)
    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.ACTIVE)

    assert client_credentials(live_server, m2m, m2m_secret, orders).status_code == 200
    assert tokens_for(live_server, web, web_secret, orders)["access_token"]
    assert_refused(refresh(live_server, web, web_secret, before["refresh_token"]), "invalid_grant")
    assert orders.introspect(live_server.url, before["access_token"]) == {"active": False}


def test_an_app_added_to_a_suspended_partner_is_suspended(live_server, actor, orders, partner, make_grant):
    partner_set_status(actor=actor, partner=partner, status=PartnerStatus.SUSPENDED)
    issued = partner_app_create(actor=actor, partner=partner, name="Late", app_type=AppType.NON_INTERACTIVE)
    make_grant(orders.resource_server, client=issued.application, scope=["read:orders"])
    refused = client_credentials(live_server, issued.application, issued.client_secret, orders)
    assert_refused(refused, "unauthorized_client", 403)


def test_a_deleted_partners_apps_get_nothing(
    live_server, actor, orders, partner, partner_web, partner_m2m, worker_stopped
):
    web, web_secret = partner_web
    m2m, m2m_secret = partner_m2m
    issued = tokens_for(live_server, web, web_secret, orders)

    partner_delete(actor=actor, partner=partner)

    assert_refused(refresh(live_server, web, web_secret, issued["refresh_token"]), "invalid_client", 401)
    assert_refused(client_credentials(live_server, m2m, m2m_secret, orders), "invalid_client", 401)
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}


# -- a refresh needs an active user and a live consent (point 14) ------------------------------------


def test_a_refresh_for_a_deactivated_user_is_refused(live_server, actor, orders, partner_web, alice, worker_stopped):
    """Deactivated by the admin or the management API (``user_update``): everything stops at once."""
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)

    user_update(actor=actor, user=alice, is_active=False)

    assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_grant")
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}


def test_a_refresh_for_a_user_deactivated_behind_the_services_back_is_refused(live_server, orders, partner_web, alice):
    """However the account was turned off (a script, a directory sync), its refresh tokens stop."""
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)

    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)

    refused = assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_grant")
    assert refused["error_description"] == "The user's account is deactivated."


def test_a_refresh_without_the_consent_is_refused(live_server, orders, partner_web, alice):
    """The stored consent is what the refresh is held to (rule 7), even if its tokens were left."""
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)

    UserGrant.objects.filter(user=alice, client=web).delete()  # gone, without its tokens

    refused = assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_grant")
    assert refused["error_description"] == "The user's consent for this application was revoked."


def test_a_refresh_keeps_only_the_scopes_the_consent_still_covers(live_server, orders, partner_web, alice):
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)
    assert set(issued["scope"].split()) == {"read:orders", "offline_access"}

    UserGrant.objects.filter(user=alice, client=web).update(scope=["read:orders"])

    refreshed = refresh(live_server, web, secret, issued["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == "read:orders"
    assert "refresh_token" not in refreshed.json()


# -- revocations take effect in their transaction, with no worker (point 15) ------------------------


def test_a_consent_taken_back_stops_its_tokens_without_a_worker(live_server, orders, partner_web, worker_stopped):
    web, secret = partner_web
    browser = Browser(live_server.url)
    issued = tokens_for(live_server, web, secret, orders, browser)
    grant = UserGrant.objects.get(client=web)

    page = browser.session.get(browser.url(f"/account/apps/{grant.pk}/revoke"))
    revoked = browser.session.post(
        page.url,
        data={"csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1)},
        headers={"Referer": page.url},
        allow_redirects=False,
    )
    assert revoked.status_code == 302

    assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_grant")
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}


def test_a_deleted_client_grant_stops_its_tokens_without_a_worker(
    live_server, actor, orders, partner_web, worker_stopped
):
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)

    client_grant_delete(actor=actor, grant=ClientGrant.objects.get(client=web))

    assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_grant")
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}


def test_a_deleted_app_stops_its_tokens_without_a_worker(live_server, actor, orders, partner_web, worker_stopped):
    web, secret = partner_web
    issued = tokens_for(live_server, web, secret, orders)

    application_delete(actor=actor, application=web)

    assert_refused(refresh(live_server, web, secret, issued["refresh_token"]), "invalid_client", 401)
    assert orders.introspect(live_server.url, issued["access_token"]) == {"active": False}
