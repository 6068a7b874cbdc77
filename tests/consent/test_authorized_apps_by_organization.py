"""``/account/apps`` with organizations, over HTTP.

Enforced: the user's consents are shown in a section per organization (its display name, escaped)
and one for those given outside any organization; revoking an app's consent in one organization
takes back that consent and the tokens issued there only: the same app's consent and refresh
token in the other organization keep working. The page costs no more queries with organizations.
"""

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from consent.services import user_grant_record
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SubjectType
from oauthcore.models import Connection
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from tests.oauthcore.flows import CALLBACK, exchange
from tests.oauthcore.test_organization_flows import consent_and_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(actor):
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=database, is_domain_connection=True)
    return get_user_model().objects.create_user(username="dana", email="dana@example.com", password=None)


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        name="Orders API",
        scopes=[("read:things", "Read your things")],
        user_policy="require_client_grant",
        allow_offline_access=True,
    )


@pytest.fixture
def issued(actor, orders, make_grant):
    """A strict third-party app that may be used with organizations, with refresh tokens."""
    credentials = application_create(
        actor=actor,
        name="Acme Order Sync",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        organization_usage="allow",
    )
    make_grant(orders, client=credentials.application, scope=["read:things"], subject_type=SubjectType.USER)
    return credentials


@pytest.fixture
def organizations(make_organization, user):
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    common = {"third_party": True, "connections": [database], "members": [user]}
    return (
        make_organization("acme", display_name="Acme <i>Corp</i>", **common),
        make_organization("globex", display_name="Globex", **common),
    )


def sections_of(body: str) -> list[str]:
    """The page's sections, each as its HTML (the heading first)."""
    return [part.split("</section>")[0] for part in body.split('<section class="consent-section"')[1:]]


def test_consents_are_grouped_by_organization(client, user, issued, orders, organizations, make_app):
    acme, globex = organizations
    app = issued.application
    other = make_app(name="Personal Notes")
    user_grant_record(user=user, client=other, audience=orders.identifier, scopes=["read:things"])
    user_grant_record(user=user, client=app, audience=orders.identifier, scopes=["read:things"], organization=globex)
    user_grant_record(user=user, client=app, audience=orders.identifier, scopes=["read:things"], organization=acme)
    client.force_login(user)
    body = client.get("/account/apps").content.decode()
    outside, in_acme, in_globex = sections_of(body)
    assert "Outside any organization</h2>" in outside and "<h3>Personal Notes</h3>" in outside
    assert app.name not in outside
    assert "In Acme &lt;i&gt;Corp&lt;/i&gt;</h2>" in in_acme and "<i>Corp</i>" not in body
    assert "In Globex</h2>" in in_globex
    assert f'hx-confirm="Revoke {app.name} in Globex? It will lose access at once."' in in_globex
    for section, organization in ((in_acme, acme), (in_globex, globex)):
        grant = UserGrant.objects.get(client=app, organization=organization)
        assert f'id="grant-{grant.pk}"' in section and app.name in section and "Personal Notes" not in section


def test_without_organizations_the_page_has_no_section_headings(client, user, orders, make_app):
    user_grant_record(
        user=user, client=make_app(name="Personal Notes"), audience=orders.identifier, scopes=["read:things"]
    )
    client.force_login(user)
    body = client.get("/account/apps").content.decode()
    assert "Outside any organization" not in body and "<h2>Personal Notes</h2>" in body


def refresh(client, issued, refresh_token: str):
    return client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        },
    )


def test_revoking_in_one_organization_leaves_the_other(client, user, issued, orders, organizations):
    acme, globex = organizations
    client.force_login(user)
    tokens = {}
    for organization in organizations:
        code = consent_and_code(client, issued.application, orders.identifier, organization.id)
        tokens[organization.id] = client.post("/oauth/token", exchange(issued, code)).json()["refresh_token"]
    acme_grant = UserGrant.objects.get(user=user, organization=acme)
    # Without JavaScript, the confirmation page names the organization.
    confirm = client.get(f"/account/apps/{acme_grant.pk}/revoke").content.decode()
    assert "<h1>Revoke Acme Order Sync in Acme &lt;i&gt;Corp&lt;/i&gt;?</h1>" in confirm
    response = client.post(f"/account/apps/{acme_grant.pk}/revoke", follow=True)
    body = response.content.decode()
    assert "Acme Order Sync no longer has access to your account in Acme &lt;i&gt;Corp&lt;/i&gt;." in body
    # Acme's section is gone; Globex's consent is still listed, and its refresh token still works.
    (in_globex,) = sections_of(body)
    assert "In Globex</h2>" in in_globex and "Acme Order Sync" in in_globex
    assert list(UserGrant.objects.filter(user=user).values_list("organization_id", flat=True)) == [globex.id]
    assert refresh(client, issued, tokens[acme.id]).status_code == 400
    assert refresh(client, issued, tokens[globex.id]).status_code == 200


def test_revoking_with_htmx_names_the_organization(client, user, issued, orders, organizations):
    acme, globex = organizations
    for organization in organizations:
        user_grant_record(
            user=user,
            client=issued.application,
            audience=orders.identifier,
            scopes=["read:things"],
            organization=organization,
        )
    grant = UserGrant.objects.get(organization=globex)
    client.force_login(user)
    response = client.post(f"/account/apps/{grant.pk}/revoke", headers={"HX-Request": "true"})
    assert response.content.decode().strip() == (
        f'<li class="grant notice" id="grant-{grant.pk}" role="status">'
        "Acme Order Sync no longer has access to your account in Globex.</li>"
    )
    assert UserGrant.objects.filter(organization=acme).exists()


def test_another_users_consent_in_an_organization_is_not_found(client, user, issued, orders, organizations):
    acme, _ = organizations
    grant = user_grant_record(
        user=user, client=issued.application, audience=orders.identifier, scopes=["read:things"], organization=acme
    )
    stranger = get_user_model().objects.create_user(username="eve", email="eve@example.com", password=None)
    client.force_login(stranger)
    assert client.post(f"/account/apps/{grant.pk}/revoke").status_code == 404
    assert "Acme" not in client.get("/account/apps").content.decode()
    assert UserGrant.objects.filter(pk=grant.pk).exists()


def test_the_page_costs_the_same_with_many_organizations(
    client, user, issued, orders, make_app, make_organization, django_assert_max_num_queries
):
    client.force_login(user)
    user_grant_record(user=user, client=issued.application, audience=orders.identifier, scopes=["read:things"])
    with django_assert_max_num_queries(10) as one:
        assert client.get("/account/apps").status_code == 200
    for n in range(4):
        organization = make_organization(f"customer-{n}", display_name=f"Customer {n}", third_party=True)
        for app in (issued.application, make_app(name=f"App {n}")):
            user_grant_record(
                user=user, client=app, audience=orders.identifier, scopes=["read:things"], organization=organization
            )
    with django_assert_max_num_queries(10) as many:
        body = client.get("/account/apps").content.decode()
    assert len(sections_of(body)) == 5
    assert len(many.captured_queries) == len(one.captured_queries)
