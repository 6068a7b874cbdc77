"""Deleting a partner in the admin says what goes with it (its apps and what goes with each, its members,
invitations and access requests), and that is what is gone afterwards."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.audit import Actor
from oauthcore.constants import SubjectType
from oauthcore.models import AccessToken, Application, ClientGrant, RefreshToken
from portal.partners.models import AccessRequest, Invitation, Partner, PartnerMembership, Role
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.invitations import invitation_create
from tests.oauthcore.test_admin import make_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def url(model, view="changelist", *args):
    return reverse(f"admin:portal_{model._meta.model_name}_{view}", args=args)


def summary_of(response) -> list[str]:
    return [str(c) for c in response.wsgi_request.deletion_summary.shown]


def furnish(org, api, make_grant):
    """Grants, tokens, a consent, an access request and an invitation for ``org``."""
    make_grant(api, client=org.app, scope=["read:things"], subject_type=SubjectType.USER)
    make_tokens(org.app, org.developer, api.identifier, count=3)
    user_grant_record(user=org.developer, client=org.app, audience=api.identifier, scopes=["read:things"])
    access_request_create(
        actor=Actor.user(org.owner),
        partner=org.partner,
        client=org.m2m,
        resource_server=api,
        subject_type="client",
        scope=["read:things"],
        justification="We sync orders.",
        requested_by=org.owner,
    )
    invitation_create(
        actor=Actor.user(org.owner), by=org.membership(org.owner), email="new@example.com", role=Role.ADMIN
    )


ACME = [
    "2 applications deleted",
    "1 client grant deleted",
    "3 authorization codes deleted",
    "3 access tokens deleted: they stop working at once",
    "3 refresh tokens deleted: they stop working at once",
    "1 user consent deleted",
    "3 partner memberships deleted",
    "1 invitation deleted",
    "1 access request deleted",
]


def test_deleting_a_partner_says_what_goes_with_it_and_that_is_what_goes(
    admin_client, acme, globex, make_api, make_grant
):
    api = make_api()
    furnish(acme, api, make_grant)
    furnish(globex, api, make_grant)

    page = admin_client.get(url(Partner, "delete", acme.partner.pk))

    assert summary_of(page) == ACME
    text = page.content.decode()
    assert "What goes with it" in text and "2 applications deleted." in text

    admin_client.post(url(Partner, "delete", acme.partner.pk), {"post": "yes"})

    apps = [acme.app.pk, acme.m2m.pk]
    assert not Application.objects.filter(pk__in=apps).exists()
    assert not ClientGrant.objects.filter(client__in=apps).exists()
    assert not AccessToken.objects.filter(application__in=apps).exists()
    assert not RefreshToken.objects.filter(application__in=apps).exists()
    assert not UserGrant.objects.filter(client__in=apps).exists()
    assert not PartnerMembership.objects.filter(partner_id=acme.partner.pk).exists()
    assert not Invitation.objects.filter(partner_id=acme.partner.pk).exists()
    assert not AccessRequest.objects.filter(partner_id=acme.partner.pk).exists()
    # The other partner keeps all of its own.
    assert summary_of(admin_client.get(url(Partner, "delete", globex.partner.pk))) == ACME


def test_deleting_selected_partners_sums_them_in_a_bounded_number_of_queries(
    admin_client, acme, globex, make_api, make_grant
):
    api = make_api()
    furnish(acme, api, make_grant)
    furnish(globex, api, make_grant)

    def confirmation(partners):
        with CaptureQueriesContext(db_connection) as queries:
            page = admin_client.post(
                url(Partner), {"action": "delete_selected", "_selected_action": [p.pk for p in partners]}
            )
        return page, len(queries)

    _, one = confirmation([acme.partner])
    both, two = confirmation([acme.partner, globex.partner])

    assert "4 applications deleted" in summary_of(both) and "6 access tokens deleted: they stop working at once" in (
        summary_of(both)
    )
    assert "What goes with them" in both.content.decode()
    assert two <= one, (one, two)
    assert Partner.objects.count() == 2  # nothing deleted until confirmed
