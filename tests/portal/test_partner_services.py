"""Partners, memberships and access requests: approval goes through the client grant service."""

import pytest
from django.core.exceptions import ValidationError

from oauthcore.exceptions import ConflictError
from oauthcore.models import AuditEvent, ClientGrant
from oauthcore.services.tenant import tenant_settings_update
from portal.partners.models import AccessRequest, PartnerStatus, Role
from portal.partners.services.access_requests import (
    access_request_approve,
    access_request_create,
    access_request_reject,
    access_request_save_draft,
)
from portal.partners.services.memberships import membership_add, membership_remove, membership_set_role
from portal.partners.services.partners import partner_create, partner_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="owner", password="a long passphrase 3")


@pytest.fixture
def partner(actor, owner):
    return partner_create(actor=actor, name="Acme", owner=owner, website="https://acme.example.com")


@pytest.fixture
def api(make_api):
    return make_api(scopes=[("read:orders", ""), ("write:orders", ""), ("admin:orders", "")])


@pytest.fixture
def app(make_app, partner):
    return make_app(is_first_party=False, partner=partner)


def request_access(actor, partner, app, api, scope=("read:orders", "write:orders"), subject_type="user"):
    return access_request_create(
        actor=actor,
        partner=partner,
        client=app,
        resource_server=api,
        subject_type=subject_type,
        scope=list(scope),
        justification="We sync orders for our shared customers.",
    )


def test_partner_starts_with_its_owner(partner, owner):
    assert partner.status == PartnerStatus.ACTIVE
    assert list(partner.memberships.values_list("user", "role")) == [(owner.pk, Role.OWNER)]


def test_partner_waits_for_approval_when_the_tenant_requires_it(actor, owner):
    tenant_settings_update(actor=actor, require_partner_approval=True)
    partner = partner_create(actor=actor, name="Pending Co", owner=owner)
    assert partner.status == PartnerStatus.PENDING


def test_a_user_joins_a_partner_once(actor, partner, owner):
    with pytest.raises(ConflictError) as excinfo:
        membership_add(actor=actor, partner=partner, user=owner, role=Role.DEVELOPER)
    assert excinfo.value.messages == ["This user is already a member of this partner."]


def test_a_request_names_an_app_of_the_partner(actor, partner, api, make_app, django_user_model):
    other_owner = django_user_model.objects.create_user(username="o2", password="a long passphrase 4")
    other_partner = partner_create(actor=actor, name="Other", owner=other_owner)
    foreign_app = make_app(is_first_party=False, partner=other_partner)
    with pytest.raises(ValidationError) as excinfo:
        request_access(actor, partner, foreign_app, api)
    assert excinfo.value.message_dict["client"] == ["The application does not belong to this partner."]


def test_a_request_names_scopes_of_the_api(actor, partner, app, api):
    with pytest.raises(ValidationError) as excinfo:
        request_access(actor, partner, app, api, scope=["read:orders", "launch:rockets"])
    assert excinfo.value.message_dict["scope"] == [f"Scopes not defined on {api.identifier}: launch:rockets."]


def test_one_pending_request_per_app_api_and_subject_type(actor, partner, app, api):
    request_access(actor, partner, app, api)
    with pytest.raises(ConflictError) as excinfo:
        request_access(actor, partner, app, api)
    assert excinfo.value.messages == ["A pending request for this app, API and access type already exists."]


def test_approval_creates_the_client_grant_with_narrowed_scopes(actor, partner, app, api, owner):
    request = request_access(actor, partner, app, api)
    access_request_approve(actor=actor, request=request, decided_by=owner, scope=["read:orders"])
    request.refresh_from_db()
    assert request.status == AccessRequest.Status.APPROVED and request.decided_at is not None
    grant = ClientGrant.objects.get(client=app, resource_server=api, subject_type="user")
    assert grant.scope == ["read:orders"]
    assert AuditEvent.objects.filter(action="client_grant.create", target_id=grant.pk).exists()


def test_a_later_approval_widens_the_existing_grant(actor, partner, app, api):
    access_request_approve(actor=actor, request=request_access(actor, partner, app, api, scope=["read:orders"]))
    access_request_approve(actor=actor, request=request_access(actor, partner, app, api, scope=["admin:orders"]))
    grant = ClientGrant.objects.get(client=app, resource_server=api, subject_type="user")
    assert grant.scope == ["read:orders", "admin:orders"]


def test_approval_cannot_add_unrequested_scopes(actor, partner, app, api):
    request = request_access(actor, partner, app, api, scope=["read:orders"])
    with pytest.raises(ValidationError) as excinfo:
        access_request_approve(actor=actor, request=request, scope=["read:orders", "admin:orders"])
    assert excinfo.value.message_dict["scope"] == ["Only requested scopes can be approved, not: admin:orders."]
    assert not ClientGrant.objects.filter(client=app).exists()


def test_a_decided_request_cannot_be_decided_again(actor, partner, app, api):
    request = request_access(actor, partner, app, api)
    access_request_reject(actor=actor, request=request, reason="Not for partners yet.")
    with pytest.raises(ValidationError) as excinfo:
        access_request_approve(actor=actor, request=request)
    assert excinfo.value.messages == ["This request was already rejected."]
    assert not ClientGrant.objects.filter(client=app).exists()


def test_a_draft_keeps_the_admins_notes_and_grants_nothing(actor, partner, app, api):
    request = request_access(actor, partner, app, api)
    access_request_save_draft(
        actor=actor, request=request, granted_scope=["read:orders"], decision_reason="Reads only."
    )
    request.refresh_from_db()
    assert (request.status, request.granted_scope, request.decision_reason) == (
        AccessRequest.Status.PENDING,
        ["read:orders"],
        "Reads only.",
    )
    assert not ClientGrant.objects.filter(client=app).exists()
    event = AuditEvent.objects.get(action="access_request.draft", target_id=str(request.pk))
    assert event.data == {"fields": ["decision_reason", "granted_scope"], "granted_scope": ["read:orders"]}


def test_a_decided_request_keeps_what_its_decision_stored(actor, partner, app, api):
    request = request_access(actor, partner, app, api)
    stale = AccessRequest.objects.get(pk=request.pk)
    access_request_approve(actor=actor, request=request, scope=["read:orders"])
    with pytest.raises(ValidationError, match="already approved"):
        access_request_save_draft(actor=actor, request=stale, granted_scope=["read:orders", "write:orders"])
    request.refresh_from_db()
    assert request.granted_scope == ["read:orders"]


def test_rejection_needs_a_reason(actor, partner, app, api):
    request = request_access(actor, partner, app, api)
    with pytest.raises(ValidationError) as excinfo:
        access_request_reject(actor=actor, request=request, reason="  ")
    assert excinfo.value.message_dict["decision_reason"] == ["Give the partner a reason for the rejection."]


def test_the_last_owner_stays(actor, partner, owner, django_user_model):
    membership = partner.memberships.get(user=owner)
    with pytest.raises(ValidationError) as excinfo:
        membership_set_role(actor=actor, membership=membership, role=Role.DEVELOPER)
    assert excinfo.value.messages == ["A partner keeps at least one owner."]
    with pytest.raises(ValidationError):
        membership_remove(actor=actor, membership=membership)
    second = django_user_model.objects.create_user(username="second", password="a long passphrase 5")
    membership_add(actor=actor, partner=partner, user=second, role=Role.OWNER)
    membership_set_role(actor=actor, membership=membership, role=Role.DEVELOPER)
    assert partner.memberships.get(user=owner).role == Role.DEVELOPER


def test_deleting_a_partner_deletes_its_apps_through_their_service(actor, partner, app):
    partner_id, app_pk = partner.pk, app.pk
    partner_delete(actor=actor, partner=partner)
    assert AuditEvent.objects.filter(action="client.delete", target_id=str(app_pk)).exists()
    assert AuditEvent.objects.filter(action="partner.delete", target_id=str(partner_id)).exists()
