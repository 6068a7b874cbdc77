"""Boundaries: a member sees and touches only their own partner, and only as their role allows.

Every partner page is listed here (a test fails when a new one is not), and each is tried by a
member of another partner, both with the other partner's id and with its objects under their own.
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.models import Application, PreviousClientSecret
from oauthcore.services.applications import application_rotate_secret
from portal.partners.models import Invitation, Partner, PartnerMembership, Role
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.invitations import invitation_create
from portal.partners.urls import partner_urls

pytestmark = pytest.mark.django_db

POST_ONLY = {
    "app-rotate",
    "app-previous-secret-end",
    "invite",
    "member-role",
    "member-remove",
    "invitation-cancel",
    "resend-verification",
}


@pytest.fixture
def world(acme, globex, make_api):
    """Both partners with objects of every kind: a previous secret, a request, an invitation."""
    api = make_api(scopes=[("read:things", "Read things")])
    for org in (acme, globex):
        application_rotate_secret(actor=Actor.system("tests"), application=org.m2m, grace=timedelta(days=1))
        access_request_create(
            actor=Actor.system("tests"),
            partner=org.partner,
            client=org.m2m,
            resource_server=api,
            subject_type="client",
            scope=["read:things"],
            justification="Nightly sync of things.",
        )
        invitation_create(
            actor=Actor.system("tests"), by=org.membership(org.owner), email="new@example.org", role=Role.DEVELOPER
        )
    return acme, globex


def urls_for(partner_id, org) -> dict[str, str]:
    """Every partner page of ``partner_id``, pointing at ``org``'s objects."""
    kwargs = {
        "client_id": org.m2m.client_id,
        "secret_id": PreviousClientSecret.objects.filter(application=org.m2m).first().pk,
        "membership_id": org.membership(org.developer).pk,
        "invitation_id": Invitation.objects.filter(partner=org.partner).first().pk,
    }
    urls = {}
    for pattern in partner_urls:
        wanted = {name: kwargs[name] for name in pattern.pattern.converters}
        urls[pattern.name] = reverse(f"portal:{pattern.name}", kwargs={"partner_id": partner_id, **wanted})
    return urls


def snapshot(org) -> tuple:
    org.m2m.refresh_from_db()
    return (
        Partner.objects.filter(pk=org.partner.pk).values_list("name", "website", "status").first(),
        list(Application.objects.filter(partner=org.partner).values_list("client_id", "name", "client_secret")),
        list(PartnerMembership.objects.filter(partner=org.partner).values_list("user_id", "role")),
        list(PreviousClientSecret.objects.filter(application__partner=org.partner).values_list("pk", "expires_at")),
        list(Invitation.objects.filter(partner=org.partner).values_list("pk", "email")),
    )


POST_DATA = {"role": Role.OWNER, "grace": "0", "email": "x@acme.example", "name": "Hijacked", "confirm": "x"}


# Pages that show or change one object of the partner (an app, a secret, a member, an invitation).
OBJECT_PAGES = {
    "app",
    "app-edit",
    "app-rotate",
    "app-previous-secret-end",
    "app-delete",
    "app-request-access",
    "member-role",
    "member-remove",
    "invitation-cancel",
}
PARTNER_PAGES = {
    "dashboard",
    "app-new",
    "requests",
    "catalog",
    "organizations",
    "team",
    "invite",
    "settings",
    "partner-delete",
}


def assert_not_found(client, urls: dict[str, str]) -> None:
    """Each page is a 404 to a GET (unless it only takes POSTs) and to a POST."""
    for name, url in urls.items():
        if name not in POST_ONLY:
            assert client.get(url).status_code == 404, name
        assert client.post(url, POST_DATA).status_code == 404, name


def test_every_partner_page_is_covered():
    names = {pattern.name for pattern in partner_urls}
    assert names == OBJECT_PAGES | PARTNER_PAGES | {"resend-verification"}


def test_another_partners_pages_are_not_found(client, world):
    acme, globex = world
    before = snapshot(globex)
    client.force_login(acme.owner)
    assert_not_found(client, urls_for(globex.partner.pk, globex))
    assert snapshot(globex) == before


def test_another_partners_objects_are_not_found_under_ones_own_partner(client, world):
    acme, globex = world
    before = snapshot(globex)
    client.force_login(acme.owner)
    urls = urls_for(acme.partner.pk, globex)
    assert_not_found(client, {name: url for name, url in urls.items() if name in OBJECT_PAGES})
    # Globex's app in the catalog's "show access for", and Globex's secret under Acme's own app:
    assert (
        client.get(reverse("portal:catalog", args=[acme.partner.pk]), {"app": globex.m2m.client_id}).status_code == 404
    )
    secret = PreviousClientSecret.objects.get(application=globex.m2m)
    url = reverse("portal:app-previous-secret-end", args=[acme.partner.pk, acme.m2m.client_id, secret.pk])
    assert client.post(url).status_code == 404
    assert snapshot(globex) == before


def test_a_partner_that_does_not_exist_is_not_found_either(client, acme):
    client.force_login(acme.owner)
    assert client.get(reverse("portal:dashboard", args=[999_999])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    acme, _ = world
    for name, url in urls_for(acme.partner.pk, acme).items():
        response = client.post(url) if name in POST_ONLY else client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/portal/login?next=/portal/"), name


def test_every_page_cannot_be_framed_runs_no_inline_script_and_is_not_cached(client, world):
    acme, _ = world
    client.force_login(acme.owner)
    pages = [url for name, url in urls_for(acme.partner.pk, acme).items() if name not in POST_ONLY]
    pages += [reverse("portal:signup")]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["X-Frame-Options"] == "DENY", url
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "no-store" in response["Cache-Control"], url
        assert b"<script>" not in response.content and b" style=" not in response.content, url
    client.logout()
    landing = client.get(reverse("portal:home"))
    assert landing.status_code == 200 and landing["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in landing["Content-Security-Policy"]


# -- roles ---------------------------------------------------------------------------------------------------


def test_developers_manage_apps_but_not_members_or_the_partner(client, acme):
    client.force_login(acme.developer)
    pid = acme.partner.pk
    assert client.get(reverse("portal:app-new", args=[pid])).status_code == 200
    team = client.get(reverse("portal:team", args=[pid]))
    assert team.status_code == 200 and b"Invite a colleague" not in team.content
    refused = [
        client.post(reverse("portal:invite", args=[pid]), {"email": "x@example.com", "role": Role.DEVELOPER}),
        client.post(
            reverse("portal:member-role", args=[pid, acme.membership(acme.admin).pk]), {"role": Role.DEVELOPER}
        ),
        client.post(reverse("portal:member-remove", args=[pid, acme.membership(acme.admin).pk])),
        client.post(reverse("portal:settings", args=[pid]), {"name": "Renamed"}),
        client.get(reverse("portal:partner-delete", args=[pid])),
    ]
    assert [response.status_code for response in refused[:1]] == [403]
    assert refused[0].context["message"] == "Only owners and admins can do this. Your role is developer."
    assert refused[1].status_code == 403 and refused[3].status_code == 403 and refused[4].status_code == 403
    assert refused[2].status_code == 302  # the service refused it; the page says why
    assert acme.membership(acme.admin).role == Role.ADMIN
    assert not Invitation.objects.exists()
    acme.partner.refresh_from_db()
    assert acme.partner.name == "Acme Partners"


def test_admins_manage_members_up_to_their_own_role(client, acme):
    client.force_login(acme.admin)
    pid = acme.partner.pk
    response = client.post(reverse("portal:invite", args=[pid]), {"email": "boss@acme.example", "role": Role.OWNER})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()  # owner is not even offered
    owner_row = acme.membership(acme.owner)
    client.post(reverse("portal:member-role", args=[pid, owner_row.pk]), {"role": Role.DEVELOPER})
    client.post(reverse("portal:member-remove", args=[pid, owner_row.pk]))
    assert acme.membership(acme.owner).role == Role.OWNER
    page = client.get(reverse("portal:team", args=[pid]))
    assert "Only an owner can change or remove an owner." in page.content.decode()

    developer = acme.membership(acme.developer)
    assert client.post(reverse("portal:member-role", args=[pid, developer.pk]), {"role": Role.ADMIN}).status_code == 302
    assert acme.membership(acme.developer).role == Role.ADMIN
    assert client.get(reverse("portal:partner-delete", args=[pid])).status_code == 403


def test_only_owners_delete_the_partner(client, acme):
    client.force_login(acme.owner)
    url = reverse("portal:partner-delete", args=[acme.partner.pk])
    assert client.post(url, {"confirm": "acme"}).status_code == 400  # must be typed exactly
    assert Partner.objects.filter(pk=acme.partner.pk).exists()
    response = client.post(url, {"confirm": "Acme Partners"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert not Partner.objects.filter(pk=acme.partner.pk).exists()
    assert not Application.objects.filter(pk=acme.m2m.pk).exists()


def test_anyone_may_leave_but_the_last_owner(client, acme):
    client.force_login(acme.developer)
    response = client.post(reverse("portal:member-remove", args=[acme.partner.pk, acme.membership(acme.developer).pk]))
    assert response["Location"] == "/portal/"
    assert not PartnerMembership.objects.filter(partner=acme.partner, user=acme.developer).exists()
    client.force_login(acme.owner)
    client.post(reverse("portal:member-remove", args=[acme.partner.pk, acme.membership(acme.owner).pk]))
    assert acme.membership(acme.owner).role == Role.OWNER
