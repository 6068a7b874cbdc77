"""The admin's organizations, used as a tenant admin would: through HTTP.

What is enforced: every write goes through the organization services (an audit row each, the tokens a
removal takes away revoked), bad input is a field error, blocking third-party apps is confirmed first,
the list reads its counts without a query per row, and the apps' and client grants' organization
settings are edited on their own pages.
"""

import secrets
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, ConnectionStrategy, SubjectType
from oauthcore.models import (
    AccessToken,
    Application,
    AuditEvent,
    ClientGrant,
    Connection,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
    RefreshToken,
    User,
)
from oauthcore.services.organizations import organization_client_grant_add, organization_members_add
from tests.oauthcore.test_admin import form_errors, post_data, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

MEMBERS, NEW_MEMBERS = "memberships", "memberships-2"
CONNECTIONS, NEW_CONNECTIONS = "enabled_connections", "enabled_connections-2"
GRANTS, NEW_GRANTS = "grant_links", "grant_links-2"


def change_page(client, organization):
    return client.get(url(Organization, "change", organization.pk))


def send(client, organization, **overrides):
    """The change page as it is, sent back with ``overrides`` (form field name -> value; None drops it)."""
    data = post_data(change_page(client, organization), **overrides)
    return client.post(url(Organization, "change", organization.pk), {k: v for k, v in data.items() if v is not None})


def actions_on(organization) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="oauthcore.organization", target_id=organization.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )


def user_token(app, user, organization):
    """A live access token and its refresh token, issued to ``user`` in ``app`` for ``organization``."""
    access = AccessToken.objects.create(
        token="at_" + secrets.token_urlsafe(24),
        expires=timezone.now() + timedelta(hours=1),
        application=app,
        user=user,
        organization=organization,
        scope="openid",
    )
    RefreshToken.objects.create(
        token="rt_" + secrets.token_urlsafe(24),
        application=app,
        user=user,
        access_token=access,
        organization=organization,
    )
    return access


@pytest.fixture
def people():
    return [User.objects.create_user(username=name, email=f"{name}@example.com") for name in ("ann", "bob", "cy")]


@pytest.fixture
def database():
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


# -- the list --------------------------------------------------------------------------------------------------


def test_the_list_shows_each_organization_with_its_counts_searches_and_filters(
    admin_client, make_organization, people, database
):
    sso = Connection.objects.create(name="acme-sso", strategy=ConnectionStrategy.OIDC)
    make_organization("acme", display_name="Acme Corp", members=people[:2], connections=[database, sso])
    make_organization("globex", display_name="Globex", third_party=True, members=people[2:])

    page = admin_client.get(url(Organization))
    rows = {row.name: row for row in page.context["cl"].result_list}
    text = page.text

    assert set(rows) == {"acme", "globex"}
    assert (rows["acme"].member_total, rows["acme"].connection_total) == (2, 2)
    assert (rows["globex"].member_total, rows["globex"].connection_total) == (1, 0)
    for shown in ("Acme Corp", "Globex", "Blocked", "Allowed", "Enabled connections", "Members"):
        assert shown in text
    by_display_name = admin_client.get(url(Organization), {"q": "corp"}).context["cl"].result_list
    assert [o.name for o in by_display_name] == ["acme"]
    allowed = admin_client.get(url(Organization), {"third_party_client_access__exact": "allow"})
    assert [o.name for o in allowed.context["cl"].result_list] == ["globex"]


def test_the_list_does_not_query_per_organization(
    admin_client, django_assert_max_num_queries, make_organization, people, database
):
    def populate(start, count):
        for i in range(start, start + count):
            make_organization(f"org-{i}", members=people, connections=[database])

    populate(0, 3)
    admin_client.get(url(Organization))  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as few:
        assert admin_client.get(url(Organization)).status_code == 200
    populate(3, 20)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url(Organization))

    assert response.context["cl"].result_count == 23
    assert all(o.member_total == 3 and o.connection_total == 1 for o in response.context["cl"].result_list)


# -- adding and changing the organization ------------------------------------------------------------------------


def test_adding_an_organization_goes_through_the_service(admin_client):
    response = admin_client.post(
        url(Organization, "add"),
        {
            "name": "acme",
            "display_name": "Acme Corp",
            "third_party_client_access": "allow",
            "branding": '{"colors": {"primary": "#112233"}}',
            "metadata": '{"tier": "gold"}',
        },
    )

    assert response.status_code == 302, form_errors(response)
    organization = Organization.objects.get(name="acme")
    assert organization.id.startswith("org_") and organization.allows_third_party
    assert organization.branding == {"colors": {"primary": "#112233"}}
    assert actions_on(organization) == ["organization.create"]


def test_bad_organization_input_is_a_field_error(admin_client, make_organization):
    make_organization("acme")

    response = admin_client.post(
        url(Organization, "add"),
        {
            "name": "Not A Slug",
            "third_party_client_access": "block",
            "branding": '{"colors": {"primary": "red"}}',
            "metadata": '{"tier": 1}',
        },
    )
    taken = admin_client.post(url(Organization, "add"), {"name": "acme", "third_party_client_access": "block"})

    assert response.status_code == 200
    errors = form_errors(response)
    assert "lowercase letters" in " ".join(errors["name"])
    assert errors["branding"] == ["branding.colors.primary must be a colour such as #1a2b3c."]
    assert errors["metadata"] == ["metadata.tier must be a string of at most 255 characters."]
    assert "already exists" in " ".join(form_errors(taken)["name"])
    assert Organization.objects.count() == 1


def test_renaming_an_organization_is_audited(admin_client, make_organization):
    organization = make_organization("acme")

    response = send(admin_client, organization, name="acme-corp", display_name="Acme Corp")

    assert response.status_code == 302, form_errors(response)
    organization.refresh_from_db()
    assert (organization.name, organization.display_name) == ("acme-corp", "Acme Corp")
    assert actions_on(organization)[-1] == "organization.update"


def test_blocking_third_party_apps_asks_first_then_revokes_their_tokens(
    admin_client, make_organization, make_app, people
):
    organization = make_organization("acme", third_party=True, members=people[:1])
    partner = make_app(name="Partner", is_first_party=False, third_party_security_mode="strict")
    shop = make_app(name="Shop")
    partner_token = user_token(partner, people[0], organization)
    shop_token = user_token(shop, people[0], organization)

    asked = send(admin_client, organization, third_party_client_access="block")

    assert asked.status_code == 200
    warning = " ".join(form_errors(asked)["confirm_block"])
    assert "revokes the 2 tokens third-party apps hold" in warning  # the access token and its refresh token
    organization.refresh_from_db()
    assert organization.allows_third_party  # nothing changed yet
    assert AccessToken.objects.filter(pk=partner_token.pk).exists()

    confirmed = send(admin_client, organization, third_party_client_access="block", confirm_block="on")

    assert confirmed.status_code == 302, form_errors(confirmed)
    organization.refresh_from_db()
    assert not organization.allows_third_party
    assert not AccessToken.objects.filter(pk=partner_token.pk).exists()
    assert AccessToken.objects.filter(pk=shop_token.pk).exists()  # first-party apps are not affected
    assert "organization.update" in actions_on(organization)


def test_deleting_an_organization_says_what_goes_and_goes_through_the_service(
    admin_client, make_organization, make_app, people, database
):
    organization = make_organization("acme", members=people, connections=[database])
    token = user_token(make_app(name="Shop"), people[0], organization)
    delete_url = url(Organization, "delete", organization.pk)

    page = admin_client.get(delete_url)

    assert page.status_code == 200
    assert "3 members removed from it (the users themselves stay)." in page.text
    assert "1 access token deleted: they stop working at once." in page.text
    assert "The connections and client grants themselves stay" in page.text

    response = admin_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert User.objects.count() == 3 + 1  # the members stay (and the admin)
    assert AuditEvent.objects.filter(action="organization.delete", target_id=organization.pk).exists()


# -- members --------------------------------------------------------------------------------------------------


def test_the_change_page_shows_members_connections_and_grants(
    admin_client, make_organization, make_api, make_app, make_grant, people, database
):
    robot = make_app(name="Robot", app_type=AppType.NON_INTERACTIVE)
    grant = make_grant(make_api(name="Orders"), client=robot)
    organization = make_organization("acme", members=people[:2], connections=[(database, {"show_as_button": False})])
    OrganizationClientGrant.objects.create(organization=organization, client_grant=grant)

    page = change_page(admin_client, organization).text

    assert "ann" in page and "bob" in page and ">cy<" not in page
    assert DATABASE_CONNECTION_NAME in page
    assert str(grant) in page
    assert "removing one revokes the tokens they hold for the organization" in page


def test_adding_members_with_a_role(admin_client, make_organization, people):
    organization = make_organization("acme", members=people[:1])

    response = send(
        admin_client,
        organization,
        **{
            f"{NEW_MEMBERS}-TOTAL_FORMS": "2",
            f"{NEW_MEMBERS}-0-user": str(people[1].pk),
            f"{NEW_MEMBERS}-0-role": "admin",
            f"{NEW_MEMBERS}-1-user": str(people[2].pk),
            f"{NEW_MEMBERS}-1-role": "member",
        },
    )

    assert response.status_code == 302, form_errors(response)
    roles = dict(OrganizationMember.objects.filter(organization=organization).values_list("user__username", "role"))
    assert roles == {"ann": "member", "bob": "admin", "cy": "member"}
    assert actions_on(organization)[-2:] == ["organization.members_add", "organization.member_role"]
    added = (
        AuditEvent.objects.filter(action="organization.members_add", target_id=organization.pk).order_by("id").last()
    )
    assert sorted(added.data["users"]) == sorted([people[1].user_id, people[2].user_id])


def test_adding_someone_already_a_member_is_a_form_error(admin_client, make_organization, people):
    organization = make_organization("acme", members=people[:1])

    response = send(
        admin_client,
        organization,
        **{f"{NEW_MEMBERS}-0-user": str(people[0].pk), f"{NEW_MEMBERS}-0-role": "admin"},
    )

    assert response.status_code == 200
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == NEW_MEMBERS).formset
    assert formset.forms[0].errors["user"] == ["Already a member of the organization."]
    assert OrganizationMember.objects.get(organization=organization).role == "member"


def test_changing_a_role_and_removing_a_member_revokes_only_their_tokens(
    admin_client, make_organization, make_app, people
):
    organization = make_organization("acme", members=people[:2])
    other = make_organization("globex", members=people[:1])
    shop = make_app(name="Shop")
    removed_token = user_token(shop, people[0], organization)
    elsewhere = user_token(shop, people[0], other)
    kept = user_token(shop, people[1], organization)
    rows = list(OrganizationMember.objects.filter(organization=organization).order_by("created_at", "pk"))
    assert [m.user for m in rows] == people[:2]

    response = send(
        admin_client,
        organization,
        **{f"{MEMBERS}-0-DELETE": "on", f"{MEMBERS}-1-role": "admin"},
    )

    assert response.status_code == 302, form_errors(response)
    assert list(OrganizationMember.objects.filter(organization=organization).values_list("user", "role")) == [
        (people[1].pk, "admin")
    ]
    assert not AccessToken.objects.filter(pk=removed_token.pk).exists()
    assert AccessToken.objects.filter(pk__in=[elsewhere.pk, kept.pk]).count() == 2
    assert {"organization.members_remove", "organization.member_role"} <= set(actions_on(organization))
    removal = AuditEvent.objects.get(action="organization.members_remove", target_id=organization.pk)
    assert removal.data == {"users": [people[0].user_id]}


def test_a_member_row_cannot_be_moved_to_another_user(admin_client, make_organization, people):
    organization = make_organization("acme", members=people[:1])

    response = send(admin_client, organization, **{f"{MEMBERS}-0-user": str(people[1].pk)})

    assert response.status_code == 302
    assert list(OrganizationMember.objects.filter(organization=organization).values_list("user", flat=True)) == [
        people[0].pk
    ]


# -- connections ----------------------------------------------------------------------------------------------


def test_enabling_a_connection_with_its_settings(admin_client, make_organization, database):
    organization = make_organization("acme")

    response = send(
        admin_client,
        organization,
        **{
            f"{NEW_CONNECTIONS}-0-connection": str(database.pk),
            f"{NEW_CONNECTIONS}-0-assign_membership_on_login": "on",
            f"{NEW_CONNECTIONS}-0-show_as_button": None,
            f"{NEW_CONNECTIONS}-0-is_signup_enabled": "on",
        },
    )

    assert response.status_code == 302, form_errors(response)
    link = OrganizationConnection.objects.get(organization=organization)
    assert (link.connection, link.assign_membership_on_login, link.show_as_button, link.is_signup_enabled) == (
        database,
        True,
        False,
        True,
    )
    assert actions_on(organization)[-1] == "organization.connection_add"


def test_bad_connection_settings_are_field_errors(admin_client, make_organization, database):
    organization = make_organization("acme")
    sso = Connection.objects.create(name="acme-sso", strategy=ConnectionStrategy.OIDC)

    no_membership = send(
        admin_client,
        organization,
        **{f"{NEW_CONNECTIONS}-0-connection": str(database.pk), f"{NEW_CONNECTIONS}-0-is_signup_enabled": "on"},
    )
    enterprise = send(
        admin_client,
        organization,
        **{
            f"{NEW_CONNECTIONS}-0-connection": str(sso.pk),
            f"{NEW_CONNECTIONS}-0-assign_membership_on_login": "on",
            f"{NEW_CONNECTIONS}-0-is_signup_enabled": "on",
        },
    )

    def row_errors(response):
        assert response.status_code == 200
        inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == NEW_CONNECTIONS)
        return inline.formset.forms[0].errors

    assert row_errors(no_membership)["is_signup_enabled"] == [
        "Sign-up needs assign_membership_on_login: a new user must become a member."
    ]
    assert row_errors(enterprise)["is_signup_enabled"] == ["Only a database connection can let users sign up."]
    assert not OrganizationConnection.objects.exists()


def test_enabling_a_connection_already_enabled_is_a_field_error(admin_client, make_organization, database):
    organization = make_organization("acme", connections=[database])

    response = send(admin_client, organization, **{f"{NEW_CONNECTIONS}-0-connection": str(database.pk)})

    assert response.status_code == 200
    inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == NEW_CONNECTIONS)
    assert inline.formset.forms[0].errors["connection"] == ["Already enabled for the organization."]
    assert OrganizationConnection.objects.filter(organization=organization).count() == 1


def test_changing_and_removing_enabled_connections(admin_client, make_organization, make_app, people, database):
    sso = Connection.objects.create(name="acme-sso", strategy=ConnectionStrategy.OIDC)
    sso_user = User.objects.create_user(username="dee", connection=sso)
    organization = make_organization("acme", members=[people[0], sso_user], connections=[database, sso])
    shop = make_app(name="Shop")
    database_token = user_token(shop, people[0], organization)
    sso_token = user_token(shop, sso_user, organization)

    response = send(
        admin_client,
        organization,
        **{f"{CONNECTIONS}-0-assign_membership_on_login": "on", f"{CONNECTIONS}-1-DELETE": "on"},
    )

    assert response.status_code == 302, form_errors(response)
    links = list(OrganizationConnection.objects.filter(organization=organization))
    assert [(link.connection, link.assign_membership_on_login) for link in links] == [(database, True)]
    assert not AccessToken.objects.filter(pk=sso_token.pk).exists()  # its users' tokens there are revoked
    assert AccessToken.objects.filter(pk=database_token.pk).exists()
    assert {"organization.connection_update", "organization.connection_remove"} <= set(actions_on(organization))


# -- client grants --------------------------------------------------------------------------------------------


def test_authorizing_and_removing_client_grants(admin_client, make_organization, make_api, make_app, make_grant):
    orders = make_api(name="Orders")
    robot = make_app(name="Robot", app_type=AppType.NON_INTERACTIVE)
    grant = make_grant(orders, client=robot)
    user_grant = make_grant(orders, client=make_app(name="Shop"), subject_type=SubjectType.USER)
    organization = make_organization("acme")

    page = change_page(admin_client, organization)
    choices = page.context["inline_admin_formsets"][-1].formset.forms[0].fields["client_grant"].queryset
    assert list(choices) == [grant]  # only an app's own grant for client access can be authorized
    assert user_grant not in choices

    added = send(admin_client, organization, **{f"{NEW_GRANTS}-0-client_grant": grant.pk})

    assert added.status_code == 302, form_errors(added)
    assert list(organization.client_grants.all()) == [grant]
    assert actions_on(organization)[-1] == "organization.client_grant_add"

    removed = send(admin_client, organization, **{f"{GRANTS}-0-DELETE": "on"})

    assert removed.status_code == 302, form_errors(removed)
    assert not OrganizationClientGrant.objects.exists()
    assert ClientGrant.objects.filter(pk=grant.pk).exists()  # the grant itself stays
    assert actions_on(organization)[-1] == "organization.client_grant_remove"


def test_the_change_page_reads_its_rows_without_a_query_per_row(
    admin_client, django_assert_max_num_queries, actor, make_organization, make_api, make_app, make_grant
):
    organization = make_organization("acme")
    api = make_api()

    def populate(start, count):
        users = [User.objects.create_user(username=f"user{i}") for i in range(start, start + count)]
        organization_members_add(actor=actor, organization=organization, users=users)
        for i in range(start, start + count):
            grant = make_grant(api, client=make_app(name=f"Robot {i}", app_type=AppType.NON_INTERACTIVE))
            organization_client_grant_add(actor=actor, organization=organization, grant=grant)

    populate(0, 2)
    change_page(admin_client, organization)  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as few:
        change_page(admin_client, organization)
    populate(2, 8)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = change_page(admin_client, organization)

    assert page.text.count("Robot ") >= 10


# -- the apps' and the client grants' organization settings --------------------------------------------------------


def test_an_apps_organization_settings_are_saved_through_its_service(admin_client, make_app):
    app = make_app(name="Shop")
    page = admin_client.get(url(Application, "change", app.pk))
    assert "organization_usage" in page.context["adminform"].form.fields

    response = admin_client.post(
        url(Application, "change", app.pk),
        post_data(page, organization_usage="require", organization_require_behavior="pre_login_prompt"),
    )

    assert response.status_code == 302, form_errors(response)
    app.refresh_from_db()
    assert (app.organization_usage, app.organization_require_behavior) == ("require", "pre_login_prompt")
    update = AuditEvent.objects.filter(target_type="oauthcore.application", target_id=str(app.pk)).order_by("id").last()
    assert update.action == "client.update"


def test_a_permissive_third_party_app_cannot_use_organizations(admin_client, make_app):
    app = make_app(name="Partner", is_first_party=False, third_party_security_mode="permissive")
    page = admin_client.get(url(Application, "change", app.pk))

    response = admin_client.post(url(Application, "change", app.pk), post_data(page, organization_usage="allow"))

    assert response.status_code == 200
    assert form_errors(response)["organization_usage"] == [
        "Permissive third-party applications do not support organizations."
    ]
    app.refresh_from_db()
    assert app.organization_usage == "deny"


def test_client_grants_show_their_organization_settings(admin_client, make_api, make_app, make_grant):
    grant = make_grant(
        make_api(), client=make_app(name="Robot", app_type=AppType.NON_INTERACTIVE), organization_usage="allow"
    )

    listed = admin_client.get(url(ClientGrant))
    page = admin_client.get(url(ClientGrant, "change", grant.pk))

    assert "column-organization_usage" in listed.text
    assert {"organization_usage", "allow_any_organization"} <= set(page.context["adminform"].form.fields)
    response = admin_client.post(
        url(ClientGrant, "change", grant.pk), post_data(page, organization_usage="require", allow_any_organization="on")
    )
    assert response.status_code == 302, form_errors(response)
    grant.refresh_from_db()
    assert (grant.organization_usage, grant.allow_any_organization) == ("require", True)


def test_the_admin_index_lists_organizations_and_the_add_page_asks_only_for_the_organization(admin_client):
    index = admin_client.get("/admin/")
    add = admin_client.get(url(Organization, "add"))

    assert "Organizations" in index.text
    assert add.status_code == 200
    assert set(add.context["adminform"].form.fields) >= {"name", "display_name", "third_party_client_access"}
    assert add.context["inline_admin_formsets"] == []  # members and the rest once it exists
