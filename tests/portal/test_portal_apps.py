"""Apps, credentials, the catalog and access requests, through the portal's pages."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.constants import AppType, CreatedVia, DefaultFor, SecurityMode, SubjectType, UserPolicy
from oauthcore.models import Application, AuditEvent, ClientGrant, PreviousClientSecret
from oauthcore.services.applications import application_rotate_secret
from portal.partners.models import AccessRequest, RequestStatus
from portal.partners.services.access_requests import access_request_approve, access_request_reject
from portal.partners.services.apps import partner_app_create
from tests.portal.conftest import PASSWORD, emails

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

SECRET_RE = re.compile(r'<code id="new-secret">([^<]+)</code>')


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:orders", "Read orders"), ("write:orders", "Place orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser("root", "root@tenant.example", PASSWORD)


def token(client, app, secret, audience="https://orders.example.com/"):
    return client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret, "audience": audience},
    )


# -- registering apps ------------------------------------------------------------------------------------------

NEW_APPS = [
    (AppType.REGULAR_WEB, ["https://acme.example.com/callback", "http://localhost:3000/callback"], True),
    (AppType.SPA, ["https://spa.acme.example.com/"], False),
    (AppType.NATIVE, ["com.acme.app:/callback"], False),
    (AppType.NON_INTERACTIVE, [], True),
]


@pytest.mark.parametrize(("app_type", "callbacks", "confidential"), NEW_APPS)
def test_registering_each_app_type(client, acme, app_type, callbacks, confidential):
    client.force_login(acme.developer)
    response = client.post(
        reverse("portal:app-new", args=[acme.partner.pk]),
        {"name": "Acme Mobile", "app_type": app_type, "callbacks": "\n".join(callbacks), "refresh_tokens": "on"},
    )
    assert response.status_code == 201
    app = Application.objects.get(name="Acme Mobile")
    assert (app.partner_link.partner, app.is_first_party, app.third_party_security_mode) == (
        acme.partner,
        False,
        SecurityMode.STRICT,
    )
    assert app.created_via == CreatedVia.PORTAL and app.client_id.startswith("tpc_")
    assert app.callbacks == callbacks and app.is_confidential is confidential
    expected = (
        ["client_credentials"] if app_type == AppType.NON_INTERACTIVE else ["authorization_code", "refresh_token"]
    )
    assert app.grant_types == expected
    page = response.content.decode()
    assert app.client_id in page
    secret = SECRET_RE.search(page)
    if confidential:  # shown this once, and it works
        assert secret and app.client_secret_hint == secret.group(1)[-4:]
        assert (
            secret.group(1)
            not in client.get(reverse("portal:app", args=[acme.partner.pk, app.client_id])).content.decode()
        )
    else:
        assert secret is None and "public client" in page
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk)).exists()


def test_an_app_form_shows_field_errors_and_saves_nothing(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-new", args=[acme.partner.pk])
    data = {
        "name": "Broken",
        "app_type": AppType.REGULAR_WEB,
        "callbacks": "http://acme.example.com/callback\nhttps://*.acme.example.com/cb",
        "allowed_origins": "https://acme.example.com/path",
    }
    # The form's own checks and the application's own rules, in one answer, on the fields they are about.
    response = client.post(url, {**data, "name": "", "logo_uri": "not a url"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["logo_uri"] == ["Enter a valid URL."]
    assert errors["callbacks"] == [
        "'http://acme.example.com/callback': third-party applications must use https (http only for localhost).",
        "'https://*.acme.example.com/cb': wildcards are not allowed; callback URLs must be exact.",
    ]
    assert errors["allowed_origins"] == [
        "'https://acme.example.com/path' is not an origin: it has a path, query or fragment."
    ]
    assert not Application.objects.filter(name="Broken").exists()


@pytest.mark.parametrize("page", ["new", "edit"])
def test_urls_that_cannot_even_be_parsed_are_field_errors(client, acme, page):
    """An unbalanced IPv6 bracket, or a host that changes under NFKC normalization, made Python's
    urlsplit raise inside the model's checks: the app pages answered 500 (found by fuzzing)."""
    client.force_login(acme.developer)
    args = [acme.partner.pk] + ([acme.app.client_id] if page == "edit" else [])
    response = client.post(
        reverse(f"portal:app-{page}", args=args),
        {
            "name": "Broken",
            "app_type": AppType.REGULAR_WEB,
            "callbacks": "https://[acme.example.com/callback",
            "allowed_origins": "https://acme\uff03.example.com",
            "web_origins": "http://[::1",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["callbacks"] == ["'https://[acme.example.com/callback' is not a valid URL."]
    assert errors["allowed_origins"] == ["'https://acme\uff03.example.com' is not an origin (scheme://host[:port])."]
    assert errors["web_origins"] == ["'http://[::1' is not an origin (scheme://host[:port])."]
    assert not Application.objects.filter(name="Broken").exists()


def test_editing_an_app(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-edit", args=[acme.partner.pk, acme.app.client_id])
    form = client.get(url)
    assert "https://acme.example.com/callback" in form.content.decode()
    data = {"name": "Acme Web 2", "description": "Orders for Acme", "callbacks": "https://acme.example.com/v2/cb"}
    response = client.post(url, {**data, "refresh_tokens": "on"})
    assert response.status_code == 302
    acme.app.refresh_from_db()
    assert acme.app.name == "Acme Web 2" and acme.app.callbacks == ["https://acme.example.com/v2/cb"]
    assert acme.app.grant_types == ["authorization_code", "refresh_token"]

    response = client.post(url, {**data, "callbacks": "http://evil.example.com/cb", "name": "Renamed"})
    assert response.status_code == 400
    assert "third-party applications must use https" in response.context["form"].errors["callbacks"][0]
    acme.app.refresh_from_db()
    assert acme.app.name == "Acme Web 2" and acme.app.callbacks == ["https://acme.example.com/v2/cb"]


def test_deleting_an_app_revokes_its_tokens(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    assert token(client, acme.m2m, acme.m2m_secret).status_code == 200
    client.force_login(acme.developer)
    url = reverse("portal:app-delete", args=[acme.partner.pk, acme.m2m.client_id])
    assert b"cannot be undone" in client.get(url).content
    assert client.post(url)["Location"] == f"/portal/{acme.partner.pk}/"
    assert not Application.objects.filter(pk=acme.m2m.pk).exists()
    assert token(client, acme.m2m, acme.m2m_secret).json()["error"] == "invalid_client"


# -- rotating the secret -------------------------------------------------------------------------------------


def test_rotating_with_a_grace_period_from_the_app_page(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    client.force_login(acme.developer)
    url = reverse("portal:app-rotate", args=[acme.partner.pk, acme.m2m.client_id])
    response = client.post(url, {"grace": "86400"})
    assert response.status_code == 200
    page = response.content.decode()
    new = SECRET_RE.search(page).group(1)
    assert f"••••{new[-4:]}" in page and f"••••{acme.m2m_secret[-4:]}" in page
    assert "works until" in page and "(in 1 day)" in page
    assert token(client, acme.m2m, acme.m2m_secret).status_code == 200
    assert token(client, acme.m2m, new).status_code == 200

    # Reloading the app page never shows a secret again, only the masked entries.
    page = client.get(reverse("portal:app", args=[acme.partner.pk, acme.m2m.client_id])).content.decode()
    assert new not in page and acme.m2m_secret not in page
    assert f"••••{new[-4:]}" in page and f"••••{acme.m2m_secret[-4:]}" in page


def test_rotating_with_htmx_swaps_only_the_credentials_panel(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-rotate", args=[acme.partner.pk, acme.m2m.client_id])
    response = client.post(url, {"grace": "3600"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.startswith('<section class="panel" id="credentials"')
    assert "<html" not in page and SECRET_RE.search(page)
    assert "(in 1 hour)" in page


def test_rotating_without_grace_stops_the_old_secret_and_bad_choices_are_refused(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    client.force_login(acme.developer)
    url = reverse("portal:app-rotate", args=[acme.partner.pk, acme.m2m.client_id])
    response = client.post(url, {"grace": "99"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    new = SECRET_RE.search(client.post(url, {"grace": "0"}).content.decode()).group(1)
    assert token(client, acme.m2m, acme.m2m_secret).status_code == 401
    assert token(client, acme.m2m, new).status_code == 200
    spa = partner_app_create(actor=Actor.system("tests"), partner=acme.partner, name="SPA", app_type=AppType.SPA)
    spa_url = reverse("portal:app-rotate", args=[acme.partner.pk, spa.application.client_id])
    assert client.post(spa_url, {"grace": "0"}).status_code == 404  # a public client has no secret


def test_ending_a_grace_period_early(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    application_rotate_secret(actor=Actor.system("tests"), application=acme.m2m, grace=timedelta(days=7))
    previous = PreviousClientSecret.objects.get()
    client.force_login(acme.developer)
    url = reverse("portal:app-previous-secret-end", args=[acme.partner.pk, acme.m2m.client_id, previous.pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f"••••{previous.hint}" not in response.content.decode()
    assert token(client, acme.m2m, acme.m2m_secret).status_code == 401


def test_expired_previous_secrets_are_not_listed(client, acme):
    application_rotate_secret(actor=Actor.system("tests"), application=acme.m2m, grace=timedelta(hours=1))
    PreviousClientSecret.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(acme.developer)
    page = client.get(reverse("portal:app", args=[acme.partner.pk, acme.m2m.client_id])).content.decode()
    assert f"••••{acme.m2m_secret[-4:]}" not in page


# -- access requests -----------------------------------------------------------------------------------------


def request_url(org, app, **query):
    url = reverse("portal:app-request-access", args=[org.partner.pk, app.client_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_requesting_access_emails_the_tenant_admins(client, acme, orders, staff, actor):
    from oauthcore.services.tenant import tenant_settings_update

    tenant_settings_update(actor=actor, support_email="partners@tenant.example")
    get_user_model().objects.create_user("clerk", "clerk@tenant.example", PASSWORD, is_staff=True)  # may not decide
    client.force_login(acme.developer)
    form = client.get(request_url(acme, acme.m2m, api=orders.pk)).content.decode()
    assert 'value="read:orders"' in form and "Place orders" in form
    fragment = client.get(request_url(acme, acme.m2m, api=orders.pk), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="request-form-area">') and 'value="write:orders"' in fragment

    response = client.post(
        request_url(acme, acme.m2m),
        {
            "api": orders.pk,
            "subject_type": SubjectType.CLIENT,
            "scopes": ["read:orders", "write:orders"],
            "justification": "Nightly sync of orders into Acme's ERP.",
        },
    )
    assert response.status_code == 302
    request = AccessRequest.objects.get()
    assert (request.client, request.subject_type, request.scope) == (
        acme.m2m,
        "client",
        ["read:orders", "write:orders"],
    )
    assert request.requested_by == acme.developer and request.status == RequestStatus.PENDING
    [email] = emails("access_request.created")
    assert email.to == ["partners@tenant.example", "root@tenant.example"]
    assert email.subject == "Access request: Acme Sync (Acme Partners) asks for Orders API"
    assert "Nightly sync of orders into Acme's ERP." in email.body
    assert f"/admin/portal/accessrequest/{request.pk}/change/" in email.body
    page = client.get(reverse("portal:requests", args=[acme.partner.pk])).content.decode()
    assert "Orders API" in page and "Pending" in page


def test_the_request_form_shows_field_errors(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    client.force_login(acme.developer)
    post = lambda app, **data: client.post(request_url(acme, app), {"api": orders.pk, **data})  # noqa: E731
    response = post(acme.app, subject_type="client", scopes=[], justification="short")
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["subject_type"] == ["A regular web application cannot use this kind of access."]
    assert errors["scopes"] == ["Pick at least one scope."]
    assert errors["justification"] == ["Ensure this value has at least 20 characters (it has 5)."]
    response = post(acme.m2m, subject_type="user", scopes=["read:orders"], justification="x" * 30)
    assert response.context["form"].errors["subject_type"] == ["A machine-to-machine app does not act for users."]
    response = post(acme.m2m, subject_type="client", scopes=["read:orders"], justification="x" * 30)
    assert response.context["form"].errors["scopes"] == ["The app already has these scopes."]
    response = post(acme.m2m, subject_type="client", scopes=["admin:orders"], justification="x" * 30)
    assert "Select a valid choice" in response.context["form"].errors["scopes"][0]
    assert post(acme.m2m, subject_type="client", scopes=["write:orders"], justification="x" * 30).status_code == 302
    response = post(acme.m2m, subject_type="client", scopes=["write:orders"], justification="x" * 30)
    assert response.context["form"].non_field_errors() == [
        "A request for this API and kind of access is already waiting for a decision."
    ]
    assert AccessRequest.objects.count() == 1


def test_decisions_email_the_partner_and_show_on_its_pages(client, acme, orders, staff, make_api):
    request = AccessRequest.objects.create(
        partner=acme.partner,
        client=acme.m2m,
        resource_server=orders,
        subject_type="client",
        scope=["read:orders", "write:orders"],
        justification="Nightly sync of orders.",
        requested_by=acme.developer,
    )
    access_request_approve(actor=Actor.user(staff), request=request, decided_by=staff, scope=["read:orders"])
    [approved] = emails("access_request.approved")
    assert approved.to == ["acme-admin@example.com", "acme-dev@example.com", "acme-owner@example.com"]
    assert approved.subject == "Approved: Acme Sync access to Orders API"
    assert (
        "Scopes granted: read:orders" in approved.body and "Scopes asked for: read:orders write:orders" in approved.body
    )
    grant = ClientGrant.objects.get(client=acme.m2m)
    assert grant.scope == ["read:orders"] and grant.subject_type == "client"

    client.force_login(acme.developer)
    page = client.get(reverse("portal:app", args=[acme.partner.pk, acme.m2m.client_id])).content.decode()
    assert "Approved" in page and "asked: read:orders write:orders" in page and "own grant" in page

    catalog_api = make_api(identifier="https://catalog.example.com/", name="Catalog API")
    rejected = AccessRequest.objects.create(
        partner=acme.partner,
        client=acme.m2m,
        resource_server=catalog_api,
        subject_type="client",
        scope=["read:things"],
        justification="We want the catalog.",
        requested_by=acme.developer,
    )
    access_request_reject(actor=Actor.user(staff), request=rejected, reason="Not for machine access.", decided_by=staff)
    [email] = emails("access_request.rejected")
    assert "Reason: Not for machine access." in email.body
    page = client.get(reverse("portal:requests", args=[acme.partner.pk])).content.decode()
    assert "Rejected" in page and "Not for machine access." in page


# -- the catalog ---------------------------------------------------------------------------------------------


def test_the_catalog_lists_open_apis_with_the_policy_and_the_apps_access(client, acme, orders, make_api, make_grant):
    catalog = make_api(
        identifier="https://catalog.example.com/", name="Catalog API", scopes=[("read:catalog", "Read the catalog")]
    )
    make_grant(
        catalog, default_for=DefaultFor.THIRD_PARTY_CLIENTS, subject_type=SubjectType.USER, scope=["read:catalog"]
    )
    make_api(
        identifier="https://closed.example.com/",
        name="Closed API",
        user_policy=UserPolicy.DENY_ALL,
        client_policy="deny_all",
    )
    make_grant(orders, client=acme.app, subject_type=SubjectType.USER, scope=["read:orders"])
    client.force_login(acme.developer)
    url = reverse("portal:catalog", args=[acme.partner.pk])

    page = client.get(url).content.decode()
    assert "Orders API" in page and "Catalog API" in page and "Read the catalog" in page
    assert "Closed API" not in page and "Portcullis Management API" not in page
    assert "Any third-party app may ask users for read:catalog (the default permissions)" in page
    assert "Each app needs an approved access request first" in page

    page = client.get(url, {"app": acme.app.client_id}).content.decode()
    assert "Users can allow it read:orders (through its own grant)." in page
    assert "Users can allow it read:catalog (through the default permissions)." in page
    assert "Not for this type of app: only machine-to-machine apps call APIs as themselves." in page
    page = client.get(url, {"app": acme.m2m.client_id}, HTTP_HX_REQUEST="true").content.decode()
    assert page.startswith('<div id="catalog">')
    assert "No access yet: request it." in page and "Not for this type of app: it does not act for users." in page


def test_the_catalog_and_the_dashboard_cost_the_same_whatever_their_size(
    client, acme, make_api, make_grant, django_assert_max_num_queries
):
    client.force_login(acme.developer)
    catalog_url = reverse("portal:catalog", args=[acme.partner.pk])
    dashboard_url = reverse("portal:dashboard", args=[acme.partner.pk])

    def statements(url, **query) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, query).status_code == 200
        return len(captured.captured_queries)

    make_grant(make_api(), client=acme.m2m, scope=["read:things"])
    small = (statements(catalog_url, app=acme.m2m.client_id), statements(dashboard_url))
    for n in range(8):
        api = make_api()
        make_grant(api, client=acme.m2m, scope=["read:things"])
        partner_app_create(actor=Actor.system("tests"), partner=acme.partner, name=f"More {n}", app_type=AppType.SPA)
    assert (statements(catalog_url, app=acme.m2m.client_id), statements(dashboard_url)) == small
    with django_assert_max_num_queries(9):
        client.get(catalog_url, {"app": acme.m2m.client_id})
