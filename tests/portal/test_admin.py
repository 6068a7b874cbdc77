"""Partners and access requests in the admin: the tenant admin decides through the services."""

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.models import Application, AuditEvent, ClientGrant
from portal.partners.models import AccessRequest, Partner, PartnerApplication, PartnerMembership, RequestStatus, Role
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.partners import partner_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def url(model, view="changelist", *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def owner():
    return get_user_model().objects.create_user(username="olga", email="olga@partner.example")


@pytest.fixture
def partner(owner):
    return partner_create(actor=Actor.user(owner), name="Acme", owner=owner)


@pytest.fixture
def make_request(partner, owner, make_app, make_api):
    counter = iter(range(1000))

    def make(scope=("read:things", "write:things"), subject_type="client", api=None, app=None):
        app = app or make_app(name=f"Acme app {next(counter)}", is_first_party=False, partner=partner)
        return access_request_create(
            actor=Actor.user(owner),
            partner=partner,
            client=app,
            resource_server=api or make_api(),
            subject_type=subject_type,
            scope=list(scope),
            justification="We sync orders.",
            requested_by=owner,
        )

    return make


def post_change(admin_client, access_request, **data):
    return admin_client.post(url(AccessRequest, "change", access_request.pk), {"decision_reason": "", **data})


# -- pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Partner, PartnerMembership, AccessRequest], ids=lambda m: m.__name__)
def test_changelist_search_and_change_pages_render(admin_client, partner, make_request, model):
    obj = {Partner: partner, PartnerMembership: partner.memberships.get(), AccessRequest: make_request()}[model]
    assert admin_client.get(url(model)).status_code == 200
    response = admin_client.get(url(model), {"q": "Acme"})
    assert list(response.context["cl"].result_list) == [obj]
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


def test_partner_and_membership_add_pages_render(admin_client):
    assert admin_client.get(url(Partner, "add")).status_code == 200
    assert admin_client.get(url(PartnerMembership, "add")).status_code == 200


def test_access_requests_are_not_added_in_the_admin(admin_client):
    assert admin_client.get(url(AccessRequest, "add")).status_code == 403


# -- partners --------------------------------------------------------------------------------------------------


def test_adding_a_partner_makes_its_owner_a_member(admin_client, owner):
    response = admin_client.post(
        url(Partner, "add"), {"name": "Globex", "website": "https://globex.example", "owner": owner.pk}
    )

    assert response.status_code == 302
    partner = Partner.objects.get(name="Globex")
    assert list(partner.memberships.values_list("user__username", "role")) == [("olga", Role.OWNER)]
    assert AuditEvent.objects.filter(action="partner.create", target_id=str(partner.pk), actor_type="user").exists()


def test_a_partner_needs_an_owner(admin_client):
    response = admin_client.post(url(Partner, "add"), {"name": "Globex"})

    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors


def test_owner_autocomplete_answers(admin_client, owner):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "portal",
            "model_name": "partnermembership",
            "field_name": "user",
            "term": "olg",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(owner.pk)]


def test_deleting_a_partner_deletes_its_apps_through_the_service(admin_client, partner, make_request):
    access_request = make_request()

    response = admin_client.post(url(Partner, "delete", partner.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Partner.objects.exists()
    assert AuditEvent.objects.filter(action="client.delete", data__client_id=access_request.client.client_id).exists()
    assert AuditEvent.objects.filter(action="partner.delete").exists()


def test_deleting_a_partner_any_other_way_still_deletes_its_apps(partner, make_app):
    """The link lives on the partner side, yet a partner's apps never outlive it (as with a foreign key)."""
    owned, own = make_app(name="Acme web", is_first_party=False, partner=partner), make_app(name="Tenant web")

    Partner.objects.filter(pk=partner.pk).delete()

    assert list(Application.objects.filter(pk__in=[owned.pk, own.pk]).values_list("name", flat=True)) == ["Tenant web"]
    assert not PartnerApplication.objects.exists()


# -- applications, with their partner --------------------------------------------------------------------------


def app_url(view="changelist", *args):
    return reverse(f"admin:oauthcore_application_{view}", args=args)


def test_an_application_added_with_a_partner_is_that_partners(admin_client, partner):
    page = admin_client.get(app_url("add")).text
    assert 'name="partner"' in page and "admin-autocomplete" in page
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "Ac", "app_label": "portal", "model_name": "partnerapplication", "field_name": "partner"},
    )
    assert [result["text"] for result in found.json()["results"]] == ["Acme"]

    response = admin_client.post(
        app_url("add"),
        {
            "name": "Acme sync",
            "app_type": "regular_web",
            "partner": partner.pk,
            "redirect_uris": "https://acme.example.com/cb",
            "grant_types": ["authorization_code"],
            "client_metadata": "{}",
        },
    )

    assert response.status_code == 302
    app = Application.objects.get(name="Acme sync")
    assert (app.partner_link.partner, app.is_strict_third_party) == (partner, True)
    assert list(Application.objects.filter(partner=partner)) == [app]
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk)).exists()


def test_an_applications_partner_is_fixed_after_creation(admin_client, partner, make_app):
    app = make_app(name="Acme web", is_first_party=False, partner=partner)
    other = partner_create(actor=Actor.system("tests"), name="Globex", owner=partner.memberships.get().user)

    page = admin_client.get(app_url("change", app.pk)).text
    assert '<div class="readonly">Acme</div>' in page
    assert 'name="partner"' not in page
    admin_client.post(
        app_url("change", app.pk),
        {"name": "Acme web", "app_type": "regular_web", "partner": other.pk, "client_metadata": "{}"},
    )
    assert PartnerApplication.objects.get(application=app).partner == partner


def test_applications_list_filter_and_search_by_partner(admin_client, partner, make_app):
    make_app(name="Acme web", is_first_party=False, partner=partner)
    make_app(name="Tenant web")

    def listed(**query):
        return sorted(str(app.name) for app in admin_client.get(app_url(), query).context["cl"].result_list)

    assert listed() == ["Acme web", "Tenant web"]
    assert listed(partner__id__exact=partner.pk) == ["Acme web"]
    assert listed(partner__isnull="True") == ["Tenant web"]
    assert listed(q="Acme") == ["Acme web"]
    assert '<td class="field-owning_partner">Acme</td>' in admin_client.get(app_url()).text


def test_suspend_and_activate_actions(admin_client, partner):
    admin_client.post(url(Partner), {"action": "suspend", "_selected_action": [partner.pk]})
    partner.refresh_from_db()
    assert partner.status == Partner.Status.SUSPENDED

    admin_client.post(url(Partner), {"action": "activate", "_selected_action": [partner.pk]})
    partner.refresh_from_db()
    assert partner.status == Partner.Status.ACTIVE
    assert AuditEvent.objects.filter(action="partner.suspended").exists()


def test_the_last_owner_cannot_be_removed(admin_client, partner):
    membership = partner.memberships.get()
    data = {
        "name": "Acme",
        "website": "",
        "status": "active",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": membership.pk,
        "memberships-0-partner": partner.pk,
        "memberships-0-user": membership.user_id,
        "memberships-0-role": "owner",
        "memberships-0-DELETE": "on",
    }

    response = admin_client.post(url(Partner, "change", partner.pk), data)

    assert response.status_code == 200
    assert "at least one owner" in response.text
    assert partner.memberships.exists()


def test_adding_a_member_goes_through_the_service(admin_client, partner):
    dev = get_user_model().objects.create_user(username="dev")

    response = admin_client.post(
        url(PartnerMembership, "add"), {"partner": partner.pk, "user": dev.pk, "role": "developer"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="partner.member_add", data__user=dev.pk).exists()

    again = admin_client.post(url(PartnerMembership, "add"), {"partner": partner.pk, "user": dev.pk, "role": "admin"})
    assert again.status_code == 200
    assert "already a member" in again.text


# -- access requests -------------------------------------------------------------------------------------------


def test_approve_action_creates_a_client_grant(admin_client, make_request):
    access_request = make_request()

    response = admin_client.post(
        url(AccessRequest), {"action": "approve_selected", "_selected_action": [access_request.pk]}, follow=True
    )

    assert response.status_code == 200
    access_request.refresh_from_db()
    assert access_request.status == RequestStatus.APPROVED
    assert access_request.decided_by.username == "admin"
    grant = ClientGrant.objects.get(client=access_request.client)
    assert (grant.audience, grant.subject_type, grant.scope) == (
        access_request.resource_server.identifier,
        "client",
        ["read:things", "write:things"],
    )


def test_approving_on_the_change_page_may_narrow_the_scopes(admin_client, make_request):
    access_request = make_request()

    response = post_change(admin_client, access_request, granted_scope=["read:things"], _approve="Approve")

    assert response.status_code == 302
    access_request.refresh_from_db()
    assert (access_request.status, access_request.granted_scope) == (RequestStatus.APPROVED, ["read:things"])
    assert ClientGrant.objects.get(client=access_request.client).scope == ["read:things"]


def test_saving_without_deciding_keeps_a_draft_through_its_service(admin_client, make_request):
    access_request = make_request()

    response = post_change(admin_client, access_request, granted_scope=["read:things"], decision_reason="Reads.")

    assert response.status_code == 302
    access_request.refresh_from_db()
    assert (access_request.status, access_request.granted_scope) == (RequestStatus.PENDING, ["read:things"])
    assert AuditEvent.objects.filter(action="access_request.draft", target_id=str(access_request.pk)).exists()
    assert not ClientGrant.objects.filter(client=access_request.client).exists()


def test_rejecting_on_the_change_page_needs_a_reason(admin_client, make_request):
    access_request = make_request()

    response = post_change(admin_client, access_request, _reject="Reject")
    assert response.status_code == 200
    assert "decision_reason" in response.context["adminform"].form.errors

    response = post_change(admin_client, access_request, decision_reason="Not for orders.", _reject="Reject")
    assert response.status_code == 302
    access_request.refresh_from_db()
    assert (access_request.status, access_request.decision_reason) == (RequestStatus.REJECTED, "Not for orders.")
    assert not ClientGrant.objects.filter(client=access_request.client).exists()


def test_reject_action_asks_for_a_reason(admin_client, make_request):
    requests = [make_request(), make_request()]
    selected = {"action": "reject_selected", "_selected_action": [r.pk for r in requests]}

    page = admin_client.post(url(AccessRequest), selected)
    assert page.status_code == 200
    assert "Reason" in page.text
    empty = admin_client.post(url(AccessRequest), {**selected, "post": "yes", "reason": " "})
    assert empty.status_code == 200
    assert AccessRequest.objects.filter(status=RequestStatus.PENDING).count() == 2

    response = admin_client.post(
        url(AccessRequest), {**selected, "post": "yes", "reason": "Out of scope."}, follow=True
    )

    assert any("Rejected 2" in m for m in messages_of(response))
    assert set(AccessRequest.objects.values_list("status", "decision_reason")) == {
        (RequestStatus.REJECTED, "Out of scope.")
    }


def test_a_decided_request_is_read_only(admin_client, make_request):
    access_request = make_request()
    post_change(admin_client, access_request, decision_reason="No.", _reject="Reject")

    page = admin_client.get(url(AccessRequest, "change", access_request.pk))
    assert "_approve" not in page.text
    response = post_change(admin_client, access_request, granted_scope=["read:things"], _approve="Approve")

    assert response.status_code == 200
    assert "already rejected" in response.text
    access_request.refresh_from_db()
    assert access_request.status == RequestStatus.REJECTED
    assert not ClientGrant.objects.exists()


# -- no query per row ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Partner, PartnerMembership, AccessRequest], ids=lambda m: m.__name__)
def test_changelists_do_not_query_per_row(admin_client, django_assert_max_num_queries, make_request, model):
    def populate(n):
        for _ in range(n):
            make_request()
            user = get_user_model().objects.create_user(username=f"member{get_user_model().objects.count()}")
            partner_create(actor=Actor.system(), name=f"Partner {Partner.objects.count()}", owner=user)

    populate(3)
    admin_client.get(url(model))
    with CaptureQueriesContext(db_connection) as few:
        admin_client.get(url(model))
    populate(20)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url(model))

    assert response.context["cl"].result_count >= 20


def test_outgoing_email_is_listed_read_only_without_its_body(admin_client):
    from oauthcore.models import OutboundEmail

    email = OutboundEmail.objects.create(
        kind="partner.verify_email", to=["dev@acme.example"], subject="Verify", body="secret-link", message_id="<a@b>"
    )
    listing = admin_client.get(url(OutboundEmail), {"q": "Verify"})
    assert listing.status_code == 200 and "dev@acme.example" in listing.text
    page = admin_client.get(url(OutboundEmail, "change", email.pk))
    assert page.status_code == 200
    assert "secret-link" not in page.text  # a one-time link is never shown
    assert admin_client.get(url(OutboundEmail, "add")).status_code == 403
    assert admin_client.post(url(OutboundEmail, "delete", email.pk), {"post": "yes"}).status_code == 403
    assert OutboundEmail.objects.filter(pk=email.pk).exists()


def test_invitations_are_listed_and_revoked_through_the_service(admin_client, partner, owner):
    from portal.partners.models import Invitation
    from portal.partners.services.invitations import invitation_create

    owner_membership = PartnerMembership.objects.get(partner=partner, user=owner)
    issued = invitation_create(actor=Actor.user(owner), by=owner_membership, email="new@acme.example", role="admin")
    page = admin_client.get(url(Invitation))
    assert page.status_code == 200 and "new@acme.example" in page.content.decode()
    assert "token_digest" not in admin_client.get(url(Invitation, "change", issued.invitation.pk)).content.decode()
    response = admin_client.post(url(Invitation, "delete", issued.invitation.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.filter(action="partner.invitation_revoke", target_id=str(partner.pk)).exists()


# -- the access-request page: what the app holds beside what it asks -------------------------------------------


def chips(page: str, element_id: str) -> list[str]:
    """The chips of ``#element_id``: "value description [mark]", as read on the page."""
    match = re.search(rf'<ul class="scope-chips" id="{element_id}">(.*?)</ul>', page, re.S)
    assert match, f"no chips #{element_id}"
    items = re.findall(r'<li class="scope-chip[^"]*">(.*?)</li>', match.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def test_the_request_page_shows_held_scopes_beside_the_asked_ones(admin_client, make_request, make_api, make_grant):
    api = make_api(scopes=(("read:things", "Read things"), ("write:things", "Write things")))
    access_request = make_request(scope=("read:things", "write:things"), api=api)
    make_grant(api, client=access_request.client, scope=["read:things"])

    page = admin_client.get(url(AccessRequest, "change", access_request.pk)).text

    assert chips(page, "already-held") == ["read:things Read things"]
    assert chips(page, "asked-for") == ["read:things Read things already held", "write:things Write things new"]
    assert '["read:things"' not in page and "[&quot;" not in page  # no JSON lists
    assert "write:things — Write things" in page  # the checkbox to grant it says what it is
    assert 'name="_approve"' in page


def test_an_app_without_a_grant_holds_nothing_and_a_wider_grant_holds_every_scope(
    admin_client, make_request, make_api, make_grant
):
    api = make_api()
    first = make_request(scope=("read:things",), api=api)
    page = admin_client.get(url(AccessRequest, "change", first.pk)).text
    assert "Nothing yet: the app has no client grant for this API." in page

    make_grant(api, client=first.client, allow_all_scopes=True)
    page = admin_client.get(url(AccessRequest, "change", first.pk)).text
    assert chips(page, "already-held") == ["read:things Read things", "write:things Write things"]
    assert "Its client grant allows every scope of this API." in page


def test_a_user_grant_is_not_what_a_client_request_holds(admin_client, make_request, make_api, make_grant):
    api = make_api()
    access_request = make_request(scope=("write:things",), subject_type="client", api=api)
    make_grant(api, client=access_request.client, subject_type="user", scope=["read:things"])

    page = admin_client.get(url(AccessRequest, "change", access_request.pk)).text

    assert "Nothing yet: the app has no client grant for this API." in page


def test_a_decided_request_shows_the_decision_and_nothing_to_edit(admin_client, make_request):
    access_request = make_request()
    post_change(
        admin_client, access_request, granted_scope=["read:things"], decision_reason="Reads only.", _approve="Approve"
    )

    page = admin_client.get(url(AccessRequest, "change", access_request.pk)).text

    summary = " ".join(page.split('id="decision-summary"')[1].split("</div>")[0].split())
    assert "<strong>Approved</strong> by admin on " in summary and "Reason: Reads only." in summary
    assert chips(page, "granted") == ["read:things Read things"]
    assert chips(page, "already-held") == ["read:things Read things"]  # the approval created the grant
    assert "Holds now:" in page
    assert chips(page, "asked-for") == ["read:things Read things", "write:things Write things"]  # no held/new
    for control in (
        'name="granted_scope"',
        'name="decision_reason"',
        'name="_approve"',
        'name="_reject"',
        'name="_save"',
        'name="_continue"',
        'class="submit-row"',
    ):
        assert control not in page, control


def test_the_request_page_reads_its_scopes_in_a_fixed_number_of_queries(
    admin_client, make_request, make_api, make_grant, django_assert_max_num_queries
):
    api = make_api(scopes=[(f"scope:{n}", f"Scope {n}") for n in range(30)])
    access_request = make_request(scope=[f"scope:{n}" for n in range(30)], api=api)
    make_grant(api, client=access_request.client, scope=[f"scope:{n}" for n in range(10)])

    with django_assert_max_num_queries(20):
        response = admin_client.get(url(AccessRequest, "change", access_request.pk))
    assert len(chips(response.text, "asked-for")) == 30
