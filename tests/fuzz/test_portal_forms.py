"""Bad input thrown at every form of the partner portal (and the sign-in page it sends people to):
parameters dropped, duplicated, replaced by junk, bodies in other encodings and under lying content
types. Never a 5xx, always a page a person can act on, and a refused form writes nothing.

Requests carry a real CSRF token (the check is enforced, as in production) so that the forms
behind it are what gets fuzzed. Derandomized and bounded (tests/fuzz/budget.py).
"""

from datetime import timedelta
from itertools import count
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import given
from hypothesis import strategies as st

from oauthcore.audit import Actor
from oauthcore.constants import AppType, CreatedVia, UserPolicy
from oauthcore.models import Application, AuditEvent, OutboundEmail, PreviousClientSecret
from oauthcore.services.applications import application_rotate_secret
from portal.partners.models import AccessRequest, Invitation, Partner, PartnerMembership, Role
from portal.partners.services.apps import partner_app_create
from portal.partners.services.invitations import invitation_create
from portal.partners.services.memberships import membership_add
from portal.partners.services.partners import partner_create
from portal.partners.services.signup import partner_register
from tests.fuzz.budget import FUZZ, FUZZ_OPERATION
from tests.fuzz.strategies import (
    BAD_URLS,
    CSRF_FIELD,
    FORM,
    VALUES,
    RawRequest,
    RowCounts,
    assert_form_page,
    chain_is_intact,
    form_requests,
)
from tests.portal.conftest import PASSWORD, create_org, make_user

pytestmark = pytest.mark.django_db

# An unmasked CSRF secret (32 letters) is also a valid token for itself: set as the cookie before
# every request, it survives the token rotation a sign-in does.
CSRF_SECRET = "fuzzformsfuzzformsfuzzformsfuzzf"
CSRF = {CSRF_FIELD: CSRF_SECRET}
SUCCESS = {201, 302}
User = get_user_model()


@pytest.fixture
def org(settings, make_api, fast_password_hashing):
    """A verified, active partner with an owner, an admin and a developer, a web app, a
    machine-to-machine app, and an API in the catalog that needs a request for access."""
    unlimited = dict.fromkeys(["signup", "portal_email", "login_address", "login_failures"], "100000/s")
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": unlimited}
    acme = create_org("acme")
    api = make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:orders", "Read orders"), ("write:orders", "Place orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )
    return {
        "partner": acme.partner,
        "owner": acme.owner,
        "admin": acme.admin,
        "developer": acme.developer,
        "web": acme.app,
        "m2m": acme.m2m,
        "api": api,
        "url": f"/portal/{acme.partner.pk}",
    }


def signed_in(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def post(client, path, raw, **headers):
    """POST as the portal's pages do: the form's token in the body, htmx's in X-CSRFToken."""
    client.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client.generic(
        "POST", path, raw.body, content_type=raw.content_type, HTTP_X_CSRFTOKEN=CSRF_SECRET, **headers
    )


def values(model, pk) -> dict:
    return model.objects.filter(pk=pk).values().get()


# -- getting in ------------------------------------------------------------------------------------------------


def test_sign_up(org):
    base = {
        **CSRF,
        "name": "Initech",
        "website": "https://initech.example",
        "email": "peter@initech.example",
        "username": "peter",
        "password": PASSWORD,
    }

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        rows = RowCounts(User, Partner, PartnerMembership, OutboundEmail, AuditEvent)
        response = post(signed_in(), "/portal/signup", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            partner = Partner.objects.order_by("-pk").first()
            assert response["Location"] == f"/portal/{partner.pk}/"
            assert partner.memberships.get().role == Role.OWNER and partner.email_verified_at is None
            return
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_sign_up_when_signed_in(org):
    user = make_user("solo")
    client = signed_in(user)
    base = {**CSRF, "name": "Solo Apps", "website": "https://solo.example"}

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        rows = RowCounts(User, Partner, PartnerMembership, OutboundEmail, AuditEvent)
        response = post(client, "/portal/signup", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            partner = Partner.objects.order_by("-pk").first()
            assert partner.memberships.get().user == user
            return
        rows.assert_unchanged()

    fuzz()


@pytest.mark.parametrize("path", ["/login", "/portal/login"])
def test_sign_in(org, path):
    base = {**CSRF, "username": "acme-dev", "password": PASSWORD, "next": "/portal/"}

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        rows = RowCounts(User, Partner, PartnerMembership)
        response = post(signed_in(), path, raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:  # only ever back into this site, whatever `next` says
            assert url_has_allowed_host_and_scheme(response["Location"], allowed_hosts={"testserver"})
        rows.assert_unchanged()

    fuzz()


def test_log_out(org):
    """The log-out button on every portal page."""
    developer = org["developer"]

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        client = signed_in(developer)
        rows = RowCounts(User, Partner, PartnerMembership)
        response = post(client, "/logout", raw)
        assert_form_page(response)
        assert ("_auth_user_id" in client.session) is (response.status_code != 200)
        rows.assert_unchanged()

    fuzz()


def test_verification_email_resend(org):
    owner = make_user("unverified-owner")
    partner = partner_register(user=owner, name="Unverified")

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        client = signed_in(owner)  # before counting: a sign-in is audited
        rows = RowCounts(OutboundEmail, AuditEvent)
        response = post(client, f"/portal/{partner.pk}/verify-email/resend", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            assert OutboundEmail.objects.count() == rows.before["oauthcore.OutboundEmail"] + 1
            return
        rows.assert_unchanged()

    fuzz()


def invitation_to(org, email: str) -> str:
    """An open invitation from the owner; its emailed token."""
    owner = PartnerMembership.objects.get(partner=org["partner"], user=org["owner"])
    return invitation_create(actor=Actor.user(owner.user), by=owner, email=email, role=Role.DEVELOPER).token


def test_invitation_sign_up(org):
    numbers = count()
    base = {**CSRF, "username": "newcomer", "password": PASSWORD}

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        email = f"newcomer{next(numbers)}@example.com"
        token = invitation_to(org, email)
        invitation = Invitation.objects.get(email=email)
        rows = RowCounts(User, PartnerMembership, AuditEvent)
        response = post(signed_in(), f"/portal/invitations/{token}", raw)
        assert_form_page(response)
        invitation.refresh_from_db()
        joined = PartnerMembership.objects.filter(partner=org["partner"], user__email=email).exists()
        assert joined is (invitation.accepted_at is not None) is (response.status_code in SUCCESS)
        if not joined:
            rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_invitation_accept_when_signed_in(org):
    numbers = count()

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        user = make_user(f"joiner{next(numbers)}")
        token = invitation_to(org, user.email)
        client = signed_in(user)
        rows = RowCounts(PartnerMembership, AuditEvent)
        response = post(client, f"/portal/invitations/{token}", raw)
        assert_form_page(response)
        joined = PartnerMembership.objects.filter(partner=org["partner"], user=user).exists()
        assert joined is (response.status_code in SUCCESS)
        if not joined:
            rows.assert_unchanged()

    fuzz()


# -- the partner and its team ----------------------------------------------------------------------------------


def test_partner_settings(org):
    partner = org["partner"]
    client = signed_in(org["owner"])
    base = {**CSRF, "name": "Acme Partners Ltd", "website": "https://acme.example"}

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        before, rows = values(Partner, partner.pk), RowCounts(AuditEvent)
        response = post(client, f"{org['url']}/settings", raw)
        assert_form_page(response)
        if response.status_code not in SUCCESS:
            assert values(Partner, partner.pk) == before
            rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_invite(org):
    client = signed_in(org["admin"])
    base = {**CSRF, "email": "new.dev@example.com", "role": Role.DEVELOPER}

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        rows = RowCounts(Invitation, OutboundEmail, AuditEvent)
        response = post(client, f"{org['url']}/team/invite", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            invitation = Invitation.objects.order_by("-pk").first()
            assert invitation.role in {Role.DEVELOPER, Role.ADMIN}  # never above the admin's own role
            return
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_member_role(org):
    """The answer is a redirect either way (the outcome is a message): the role and the audit log
    are what to check. Setting the role a member already has is a change to that same role."""
    membership = PartnerMembership.objects.get(partner=org["partner"], user=org["developer"])
    client = signed_in(org["admin"])

    @FUZZ
    @given(raw=form_requests({**CSRF, "role": Role.ADMIN}, csrf=True))
    def fuzz(raw):
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        response = post(client, f"{org['url']}/team/{membership.pk}/role", raw)
        assert_form_page(response)
        role = values(PartnerMembership, membership.pk)["role"]
        assert role in {Role.DEVELOPER, Role.ADMIN}  # an admin gives at most admin
        events = list(AuditEvent.objects.filter(pk__gt=last_event).values_list("action", "data"))
        assert events in ([], [("partner.member_role", {"user": org["developer"].pk, "role": role})]), events
        if events:
            assert response.status_code in SUCCESS

    fuzz()
    chain_is_intact()


def test_member_remove(org):
    numbers = count()

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        user = make_user(f"leaving{next(numbers)}")
        membership = membership_add(actor=Actor.system("tests"), partner=org["partner"], user=user)
        client = signed_in(org["owner"])
        rows = RowCounts(PartnerMembership, AuditEvent)
        response = post(client, f"{org['url']}/team/{membership.pk}/remove", raw)
        assert_form_page(response)
        if not PartnerMembership.objects.filter(pk=membership.pk).exists():
            assert response.status_code in SUCCESS
        else:
            rows.assert_unchanged()

    fuzz()


def test_invitation_cancel(org):
    numbers = count()

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        invitation_to(org, f"maybe{next(numbers)}@example.com")
        invitation = Invitation.objects.order_by("-pk").first()
        client = signed_in(org["admin"])
        rows = RowCounts(Invitation, AuditEvent)
        response = post(client, f"{org['url']}/invitations/{invitation.pk}/cancel", raw)
        assert_form_page(response)
        if Invitation.objects.filter(pk=invitation.pk).exists():
            rows.assert_unchanged()
        else:
            assert response.status_code in SUCCESS

    fuzz()


def test_partner_delete(org):
    numbers = count()

    @FUZZ_OPERATION
    @given(raw=form_requests({**CSRF, "confirm": "Doomed"}, csrf=True))
    def fuzz(raw):
        doomed = partner_create(actor=Actor.system("tests"), name="Doomed", owner=org["owner"])
        partner_app_create(
            actor=Actor.system("tests"), partner=doomed, name=f"Doomed app {next(numbers)}", app_type=AppType.SPA
        )
        client = signed_in(org["owner"])
        rows = RowCounts(Partner, PartnerMembership, Application, AuditEvent)
        response = post(client, f"/portal/{doomed.pk}/delete", raw)
        assert_form_page(response)
        if Partner.objects.filter(pk=doomed.pk).exists():
            rows.assert_unchanged()
        else:
            assert response.status_code in SUCCESS and not Application.objects.filter(partner=doomed.pk).exists()

    fuzz()
    chain_is_intact()


# -- apps ------------------------------------------------------------------------------------------------------

CALLBACKS = {
    AppType.REGULAR_WEB: "https://acme.example.com/callback\nhttp://localhost:3000/callback",
    AppType.SPA: "https://spa.acme.example.com/",
    AppType.NATIVE: "com.acme.app:/callback",
    AppType.NON_INTERACTIVE: "",
}


def app_form(kind, **fields) -> dict:
    """The app form as a person fills it in for an app of type ``kind``."""
    return {
        **CSRF,
        "name": "Acme Mobile",
        "description": "Orders on the go.",
        "logo_uri": "https://acme.example.com/logo.png",
        "callbacks": CALLBACKS[kind],
        "allowed_origins": "https://spa.acme.example.com" if kind == AppType.SPA else "",
        "web_origins": "https://acme.example.com",
        "refresh_tokens": "on",
        **fields,
    }


def test_app_create_of_each_type(org):
    client = signed_in(org["developer"])
    requests = st.sampled_from(AppType.values).flatmap(
        lambda app_type: form_requests(app_form(app_type, app_type=app_type), csrf=True)
    )

    @FUZZ
    @given(raw=requests)
    def fuzz(raw):
        rows = RowCounts(Application, AuditEvent)
        response = post(client, f"{org['url']}/apps/new", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            app = Application.objects.order_by("-created", "-pk").first()
            assert app.partner_link.partner == org["partner"] and app.is_strict_third_party
            assert app.created_via == CreatedVia.PORTAL and app.client_id in response.content.decode()
            return
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_app_edit(org):
    web = org["web"]
    client = signed_in(org["developer"])
    base = app_form(AppType.REGULAR_WEB, name="Acme Web 2")

    @FUZZ
    @given(raw=form_requests(base, csrf=True))
    def fuzz(raw):
        before, rows = values(Application, web.pk), RowCounts(Application, AuditEvent)
        response = post(client, f"{org['url']}/apps/{web.client_id}/edit", raw)
        assert_form_page(response)
        if response.status_code not in SUCCESS:
            assert values(Application, web.pk) == before, "a refused edit changed the app"
            rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def well_formed(base: dict):
    """Each field kept, left out, junk or a bad URL, in a proper UTF-8 form (no encoding tricks):
    every example reaches the form's and the model's checks."""
    junk = st.one_of(VALUES, st.sampled_from(BAD_URLS))
    fields = {name: st.one_of(st.just(value), junk) for name, value in base.items() if name != CSRF_FIELD}
    return st.fixed_dictionaries({CSRF_FIELD: st.just(CSRF_SECRET)}, optional=fields).map(
        lambda data: RawRequest(FORM, urlencode(data).encode())
    )


@pytest.mark.parametrize("page", ["new", "edit"])
def test_app_forms_with_well_formed_junk(org, page):
    web = org["web"]
    client = signed_in(org["developer"])
    path = f"{org['url']}/apps/new" if page == "new" else f"{org['url']}/apps/{web.client_id}/edit"
    base = app_form(AppType.REGULAR_WEB, **({"app_type": AppType.REGULAR_WEB} if page == "new" else {}))

    @FUZZ
    @given(raw=well_formed(base))
    def fuzz(raw):
        before, rows = values(Application, web.pk), RowCounts(Application, AuditEvent)
        response = post(client, path, raw)
        assert_form_page(response)
        if response.status_code not in SUCCESS:
            assert values(Application, web.pk) == before
            rows.assert_unchanged()

    fuzz()


def test_rotate_secret(org):
    m2m = org["m2m"]
    client = signed_in(org["developer"])

    @FUZZ
    @given(raw=form_requests({**CSRF, "grace": "3600"}, csrf=True), htmx=st.booleans())
    def fuzz(raw, htmx):
        before, rows = values(Application, m2m.pk), RowCounts(PreviousClientSecret, AuditEvent)
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = post(client, f"{org['url']}/apps/{m2m.client_id}/rotate-secret", raw, **headers)
        assert_form_page(response)
        rotated = values(Application, m2m.pk)["client_secret"] != before["client_secret"]
        assert rotated is (response.status_code == 200)  # the page (or panel) with the new secret
        if not rotated:
            assert values(Application, m2m.pk) == before
            rows.assert_unchanged()

    fuzz()
    chain_is_intact()


def test_previous_secret_end(org):
    m2m = org["m2m"]

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True), htmx=st.booleans())
    def fuzz(raw, htmx):
        application_rotate_secret(actor=Actor.system("tests"), application=m2m, grace=timedelta(hours=1))
        previous = PreviousClientSecret.objects.filter(application=m2m).order_by("-pk").first()
        client = signed_in(org["developer"])
        rows = RowCounts(PreviousClientSecret, AuditEvent)
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        path = f"{org['url']}/apps/{m2m.client_id}/previous-secrets/{previous.pk}/end"
        response = post(client, path, raw, **headers)
        assert_form_page(response)
        if PreviousClientSecret.objects.filter(pk=previous.pk).exists():
            rows.assert_unchanged()
        else:
            assert response.status_code in SUCCESS | {200}

    fuzz()


def test_app_delete(org):
    numbers = count()

    @FUZZ_OPERATION
    @given(raw=form_requests(CSRF, csrf=True))
    def fuzz(raw):
        app = partner_app_create(
            actor=Actor.system("tests"),
            partner=org["partner"],
            name=f"Short-lived {next(numbers)}",
            app_type=AppType.SPA,
        ).application
        client = signed_in(org["developer"])
        rows = RowCounts(Application, AuditEvent)
        response = post(client, f"{org['url']}/apps/{app.client_id}/delete", raw)
        assert_form_page(response)
        if Application.objects.filter(pk=app.pk).exists():
            rows.assert_unchanged()
        else:
            assert response.status_code in SUCCESS

    fuzz()
    chain_is_intact()


def test_access_request(org):
    api, m2m = org["api"], org["m2m"]
    client = signed_in(org["developer"])
    base = {
        **CSRF,
        "api": api.pk,
        "subject_type": "client",
        "scopes": "read:orders",
        "justification": "We sync orders for our shared customers every night.",
    }
    queries = st.sampled_from(["", f"?api={api.pk}", "?api=nope"])

    @FUZZ
    @given(raw=form_requests(base, csrf=True), query=queries)
    def fuzz(raw, query):
        rows = RowCounts(AccessRequest, OutboundEmail, AuditEvent)
        response = post(client, f"{org['url']}/apps/{m2m.client_id}/request-access{query}", raw)
        assert_form_page(response)
        if response.status_code in SUCCESS:
            request = AccessRequest.objects.order_by("-pk").first()
            assert request.client == m2m and request.resource_server == api and request.scope
            assert set(request.scope) <= {"read:orders", "write:orders"}
            return
        rows.assert_unchanged()

    fuzz()
    chain_is_intact()
