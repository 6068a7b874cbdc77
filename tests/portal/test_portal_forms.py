"""The portal's forms as a partner meets them: every error of a submission at once, words that say what to
do, the scopes an app already has marked, durations said right, and the portal's own login."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.constants import AppType, SubjectType, UserPolicy
from oauthcore.models import Application, PreviousClientSecret, TenantSettings
from oauthcore.services.applications import application_rotate_secret
from oauthcore.validation import LOGO_URI_ERROR
from portal.partners.models import AccessRequest
from portal.partners.templatetags.portal_tags import duration_words, time_left
from tests.portal.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:orders", "Read orders"), ("write:orders", "Place orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


def request_url(acme, app, **query):
    url = reverse("portal:app-request-access", args=[acme.partner.pk, app.client_id])
    return url + (f"?api={query['api']}" if "api" in query else "")


# -- every error at once -------------------------------------------------------------------------------------


BROKEN_APP = {
    "name": "",
    "logo_uri": "http://acme.example.com/logo.png",
    "callbacks": "http://acme.example.com/callback",
    "allowed_origins": "https://acme.example.com/path",
}


def test_a_new_app_gets_the_forms_and_the_apps_errors_in_one_answer(client, acme):
    client.force_login(acme.developer)
    response = client.post(reverse("portal:app-new", args=[acme.partner.pk]), {**BROKEN_APP, "app_type": "spa"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["This field is required."],
        "logo_uri": [LOGO_URI_ERROR],
        "callbacks": [
            "'http://acme.example.com/callback': third-party applications must use https (http only for localhost)."
        ],
        "allowed_origins": ["'https://acme.example.com/path' is not an origin: it has a path, query or fragment."],
    }
    page = response.content.decode()
    assert page.count('class="field has-error"') == 4
    assert not Application.objects.filter(app_type=AppType.SPA).exists()


def test_editing_an_app_gets_every_error_at_once_and_keeps_what_is_stored(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-edit", args=[acme.partner.pk, acme.app.client_id])
    response = client.post(url, BROKEN_APP)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "logo_uri", "callbacks", "allowed_origins"}
    acme.app.refresh_from_db()
    assert (acme.app.name, acme.app.logo_uri) == ("Acme Web", "")
    ok = {**BROKEN_APP, "name": "Acme Web", "logo_uri": "https://acme.example.com/logo.png", "allowed_origins": ""}
    ok["callbacks"] = "https://acme.example.com/callback"
    assert client.post(url, ok).status_code == 302
    assert Application.objects.get(pk=acme.app.pk).logo_uri == "https://acme.example.com/logo.png"


def test_a_field_the_form_refused_is_not_refused_twice(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-new", args=[acme.partner.pk])
    response = client.post(url, {"name": "X", "app_type": "regular_web", "logo_uri": "not a url"})
    assert response.context["form"].errors == {"logo_uri": ["Enter a valid URL."]}


def test_an_older_http_logo_is_not_shown_and_the_edit_page_says_why(client, acme):
    Application.objects.filter(pk=acme.app.pk).update(logo_uri="http://acme.example.com/logo.png")
    client.force_login(acme.developer)
    for name, args in [
        ("portal:dashboard", [acme.partner.pk]),
        ("portal:app", [acme.partner.pk, acme.app.client_id]),
    ]:
        page = client.get(reverse(name, args=args)).content.decode()
        assert "http://acme.example.com/logo.png" not in page and "<img" not in page, name
    edit = client.get(reverse("portal:app-edit", args=[acme.partner.pk, acme.app.client_id])).content.decode()
    assert "This logo is not shown anywhere: it is not an https URL." in edit
    # Saving other changes still works: the stored logo is not in the way.
    data = {"name": "Acme Web 2", "logo_uri": "http://acme.example.com/logo.png"}
    data["callbacks"] = "https://acme.example.com/callback"
    assert client.post(reverse("portal:app-edit", args=[acme.partner.pk, acme.app.client_id]), data).status_code == 302


def test_a_sign_up_gets_every_field_error_at_once(client):
    response = client.post(
        reverse("portal:signup"),
        {"name": "", "website": "not a url", "email": "nope", "username": "bad name!", "password": "123"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "website", "email", "username", "password"}
    assert "This password is too short. It must contain at least 8 characters." in errors["password"]


def test_an_invitation_gets_every_field_error_at_once(client, acme):
    client.force_login(acme.admin)
    response = client.post(reverse("portal:invite", args=[acme.partner.pk]), {"email": "nope", "role": "owner"})
    assert response.status_code == 400
    assert set(response.context["invite_form"].errors) == {"email", "role"}


def test_signing_up_without_an_email_address_says_so_with_the_field_errors(client, acme):
    acme.owner.email = ""
    acme.owner.save()
    client.force_login(acme.owner)
    response = client.post(reverse("portal:signup"), {"name": "", "website": "not a url"})
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "website", "__all__"}
    assert form.non_field_errors() == [
        "Your account has no email address to confirm. Ask the tenant's admins to add one."
    ]


# -- requesting access: the scopes it already has -----------------------------------------------------------


def test_no_scope_picked_says_pick_at_least_one(client, acme, orders):
    client.force_login(acme.developer)
    response = client.post(
        request_url(acme, acme.m2m),
        {"api": orders.pk, "subject_type": "client", "justification": "Nightly sync of orders into the ERP."},
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"scopes": ["Pick at least one scope."]}
    assert "Pick at least one scope." in response.content.decode()
    assert "This field is required." not in response.content.decode()


def scope_inputs(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="checkbox" name="scopes" value="([^"]+)"[^>]*?( checked disabled|)>', page))


def test_the_scopes_the_app_already_has_are_marked_granted(client, acme, orders, make_grant):
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    client.force_login(acme.developer)
    page = client.get(request_url(acme, acme.m2m, api=orders.pk)).content.decode()
    assert scope_inputs(page) == {"read:orders": " checked disabled", "write:orders": ""}
    assert 'read:orders: Read orders <span class="badge ok">granted</span>' in page
    assert "Scopes marked <em>granted</em> are already the app's" in page
    # Asking only for them is refused in words; asking for something new goes through.
    post = {"api": orders.pk, "subject_type": "client", "justification": "Nightly sync of orders into the ERP."}
    response = client.post(request_url(acme, acme.m2m), {**post, "scopes": ["read:orders"]})
    assert response.context["form"].errors == {"scopes": ["The app already has these scopes."]}
    assert client.post(request_url(acme, acme.m2m), {**post, "scopes": ["write:orders"]}).status_code == 302
    assert AccessRequest.objects.get().scope == ["write:orders"]


def test_scopes_given_by_default_permissions_count_as_held_and_nothing_left_is_a_clear_error(
    client, acme, make_api, make_grant
):
    catalog = make_api(identifier="https://catalog.example.com/", name="Catalog API", scopes=[("read:catalog", "")])
    make_grant(catalog, default_for="third_party_clients", subject_type=SubjectType.USER, scope=["read:catalog"])
    client.force_login(acme.developer)
    page = client.get(request_url(acme, acme.app, api=catalog.pk)).content.decode()
    assert scope_inputs(page) == {"read:catalog": " checked disabled"}
    response = client.post(
        request_url(acme, acme.app),
        {"api": catalog.pk, "subject_type": "user", "justification": "Show the catalog to our shop's users."},
    )
    assert response.context["form"].errors == {
        "scopes": ["The app already has every scope of Catalog API for this kind of access."]
    }


def test_the_request_page_reads_a_bounded_number_of_queries(
    client, acme, orders, make_grant, make_api, django_assert_max_num_queries
):
    """However many APIs and grants the app has, the page with its marked scopes is a fixed number of reads."""
    make_grant(orders, client=acme.m2m, scope=["read:orders"])
    client.force_login(acme.developer)
    url = request_url(acme, acme.m2m, api=orders.pk)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        make_grant(make_api(), client=acme.m2m, scope=["read:things"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# -- durations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (7 * 86400, "7 days"),
        (7 * 86400 - 1, "7 days"),  # a grace period read a second after it started
        (7 * 86400 - 40 * 60, "6 days, 23 hours"),
        (86400 - 5, "1 day"),
        (36 * 3600, "1 day, 12 hours"),
        (3600 - 2, "1 hour"),
        (90 * 60, "1 hour, 30 minutes"),
        (23 * 3600 + 59 * 60, "1 day"),
        (12 * 60 + 10, "12 minutes"),
        (20, "less than a minute"),
    ],
)
def test_durations_are_rounded_not_cut(seconds, words):
    assert duration_words(seconds) == words


def test_time_left_of_a_moment():
    assert time_left(timezone.now() + timedelta(days=7)) == "in 7 days"
    assert time_left(timezone.now() - timedelta(seconds=1)) == "expired"


def test_a_seven_day_grace_period_reads_in_7_days_with_the_exact_time(client, acme):
    client.force_login(acme.developer)
    url = reverse("portal:app-rotate", args=[acme.partner.pk, acme.m2m.client_id])
    response = client.post(url, {"grace": "604800"})
    assert response.status_code == 200
    page = response.content.decode()
    expires = PreviousClientSecret.objects.get(application=acme.m2m).expires_at
    assert f"{expires:%-d %b %Y, %H:%M} UTC</time> (in 7 days)" in page
    assert f'<time datetime="{expires.isoformat()}"' in page
    assert f'title="{expires:%A %-d %B %Y, %H:%M:%S} UTC"' in page
    assert "6 days" not in page


def test_an_older_grace_period_counts_down(client, acme):
    application_rotate_secret(actor=Actor.system("tests"), application=acme.m2m, grace=timedelta(days=7))
    PreviousClientSecret.objects.update(expires_at=timezone.now() + timedelta(days=2, hours=5, minutes=10))
    client.force_login(acme.developer)
    page = client.get(reverse("portal:app", args=[acme.partner.pk, acme.m2m.client_id])).content.decode()
    assert "(in 2 days, 5 hours)" in page


# -- the portal's login -------------------------------------------------------------------------------------


def test_anonymous_partners_are_sent_to_the_portals_own_login(client, acme):
    response = client.get(reverse("portal:dashboard", args=[acme.partner.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"/portal/login?next=/portal/{acme.partner.pk}/"


def test_the_portal_login_is_framed_as_the_portal_and_links_sign_up_and_password_help(client):
    response = client.get("/portal/login?next=/portal/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Log in · " in page and "Partner portal</small>" in page
    assert "Log in to the partner portal" in page
    assert "register their apps, get their credentials, request API access" in page
    assert 'href="/portal/signup"' in page and 'href="/portal/password-help"' in page
    assert 'name="next" value="/portal/"' in page
    # The same strict page as /login: not framed, no inline code, never cached.
    assert response["X-Frame-Options"] == "DENY" and "unsafe-inline" not in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    # /login, for OAuth flows, stays the end user's bare card.
    end_user = client.get("/login").content.decode()
    assert "Partner portal" not in end_user and "Log in to " in end_user


def test_logging_in_through_the_portal_lands_on_the_portal(client, acme):
    response = client.post("/portal/login", {"username": "acme-owner", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 302  # to the partner's dashboard
    client.logout()
    target = f"/portal/{acme.partner.pk}/team"
    response = client.post(
        f"/portal/login?next={target}", {"username": "acme-owner", "password": PASSWORD, "next": target}
    )
    assert response["Location"] == target


def test_a_wrong_password_on_the_portal_login_is_a_form_error(client, acme):
    response = client.post("/portal/login", {"username": "acme-owner", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


def test_the_portal_login_spends_the_same_sign_in_allowance_as_login(acme, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"login_failures": "3/15m"}}

    def attempt(path, password=None):
        data = {"username": "acme-owner", "password": password or "wrong"}
        return Client(REMOTE_ADDR="10.0.0.9").post(path, data)

    assert attempt("/login").status_code == 200
    assert attempt("/portal/login").status_code == 200
    locked = attempt("/portal/login")  # the third failure of the account, wherever it was typed
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    refused = attempt("/portal/login", password=PASSWORD)
    assert refused.status_code == 429
    assert "Too many" in refused.content.decode() and "Log in to the partner portal" in refused.content.decode()
    assert attempt("/login", password=PASSWORD).status_code == 429


def test_the_password_help_page_says_how_to_get_a_new_password_today(client):
    TenantSettings.objects.update_or_create(id=1, defaults={"support_email": "help@tenant.example"})
    page = client.get(reverse("portal:password-help")).content.decode()
    assert "Forgot your password?" in page and "cannot email you a reset link yet" in page
    assert 'href="mailto:help@tenant.example"' in page and 'href="/portal/login"' in page
