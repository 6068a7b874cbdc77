"""Organizations at ``/authorize`` and the token endpoint, over HTTP (rule 6 of the decision).

Each test drives the real views with Django's test client: a strict third-party app (open redirect
protection: errors are pages here) or a first-party app (allow always: errors go to the callback),
an organization made through its services, and a user of the database connection.
"""

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model

from consent.models import UserGrant
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SecurityMode, SubjectType
from oauthcore.models import AuditEvent, Connection, OrganizationMember, RefreshToken
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.organizations import (
    organization_client_grant_add,
    organization_members_remove,
    organization_update,
)
from oauthcore.services.tenant import tenant_settings_update
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db

INVALID = "parameter organization is invalid: {}"


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_page_says(response, text: str) -> None:
    assert response.status_code == 400
    assert text in response.content.decode()


def callback_error(response) -> dict:
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.fixture
def database(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return connection


@pytest.fixture
def user(database):
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
def make_client(actor, orders, make_grant):
    def make(*, first_party=False, mode=SecurityMode.STRICT, usage="allow", behavior="no_prompt"):
        fields = {} if first_party else {"third_party_security_mode": mode}
        issued = application_create(
            actor=actor,
            name="First-party app" if first_party else "Partner app",
            app_type=AppType.REGULAR_WEB,
            is_first_party=first_party,
            callbacks=[CALLBACK],
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
            organization_usage=usage,
            organization_require_behavior=behavior,
            **fields,
        )
        make_grant(orders, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
        return issued

    return make


@pytest.fixture
def acme(make_organization, database, user):
    return make_organization("acme", display_name="Acme Corp", third_party=True, connections=[database], members=[user])


def org_path(app, audience, organization, scope="read:things offline_access"):
    path = authorize_path(app, audience, scope=scope)
    return f"{path}&{urlencode({'organization': organization})}" if organization else path


def consent_and_code(client, app, audience, organization, scope="read:things offline_access"):
    path = org_path(app, audience, organization, scope)
    screen = client.get(path)
    assert screen.status_code == 200, screen.content
    return code_from(client.post(path, {"decision": "accept", "scope": ["read:things", "offline_access"]}))


# -- third-party apps: the organization must allow them (Auth0: "Organizations with third-party apps")


def test_a_strict_app_logs_a_member_in_to_an_organization_and_its_tokens_carry_org_id(
    client, make_client, orders, acme, user
):
    issued = make_client()
    client.force_login(user)
    screen = client.get(org_path(issued.application, orders.identifier, acme.id))
    assert "Acme Corp" in screen.content.decode()  # the consent names the organization
    code = consent_and_code(client, issued.application, orders.identifier, acme.id)
    tokens = client.post("/oauth/token", exchange(issued, code)).json()
    assert claims_of(tokens["access_token"])["org_id"] == acme.id
    assert "org_name" not in claims_of(tokens["access_token"])  # the tenant setting is off
    refreshed = client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        },
    ).json()
    assert claims_of(refreshed["access_token"])["org_id"] == acme.id  # refresh keeps the organization


def test_an_organization_may_be_named_by_its_name_and_tokens_carry_org_name_when_the_tenant_says(
    client, actor, make_client, orders, acme, user
):
    tenant_settings_update(actor=actor, allow_organization_name_in_authentication_api=True)
    issued = make_client()
    client.force_login(user)
    # Names are lowercase slugs: the name is found whatever case it is typed in.
    code = consent_and_code(client, issued.application, orders.identifier, "ACME")
    claims = claims_of(client.post("/oauth/token", exchange(issued, code)).json()["access_token"])
    assert (claims["org_id"], claims["org_name"]) == (acme.id, "acme")


def test_an_organization_that_blocks_third_party_apps_is_an_invalid_organization_page(
    client, make_client, orders, make_organization, database, user
):
    blocked = make_organization("initech", connections=[database], members=[user])  # block is the default
    client.force_login(user)
    response = client.get(org_path(make_client().application, orders.identifier, blocked.id))
    error_page_says(response, INVALID.format(blocked.id))
    assert "invalid_request" in response.content.decode()


def test_a_connection_not_at_domain_level_is_an_invalid_organization(
    client, actor, make_client, orders, acme, database, user
):
    connection_set_domain_level(actor=actor, connection=database, is_domain_connection=False)
    client.force_login(user)
    response = client.get(org_path(make_client().application, orders.identifier, acme.id))
    error_page_says(response, INVALID.format(acme.id))


def test_a_connection_not_enabled_for_the_organization_is_an_invalid_organization(
    client, make_client, orders, make_organization, user
):
    no_connection = make_organization("globex", third_party=True, members=[user])
    client.force_login(user)
    response = client.get(org_path(make_client().application, orders.identifier, no_connection.id))
    error_page_says(response, INVALID.format(no_connection.id))


def test_an_unknown_organization_is_invalid_and_a_permissive_app_gets_no_organization_flows(
    client, make_client, orders, acme, user
):
    client.force_login(user)
    error_page_says(
        client.get(org_path(make_client().application, orders.identifier, "org_nope")), INVALID.format("org_nope")
    )
    permissive = make_client(mode=SecurityMode.PERMISSIVE, usage="deny")
    response = client.get(org_path(permissive.application, orders.identifier, acme.id))
    assert response.status_code == 302  # permissive apps follow allow_always: the error goes back
    assert callback_error(response)["error_description"] == INVALID.format(acme.id)


def test_an_app_that_does_not_use_organizations_is_refused_one(client, make_client, orders, acme, user):
    client.force_login(user)
    response = client.get(org_path(make_client(usage="deny").application, orders.identifier, acme.id))
    error_page_says(response, "parameter organization is not allowed for this client")


def test_a_user_who_is_not_a_member_is_refused(client, make_client, orders, make_organization, database):
    stranger = get_user_model().objects.create_user(username="sam", email="sam@example.com", password=None)
    org = make_organization("umbrella", third_party=True, connections=[database])
    client.force_login(stranger)
    response = client.get(org_path(make_client().application, orders.identifier, org.id))
    error_page_says(response, f"The user is not a member of the organization {org.id}.")
    assert not OrganizationMember.objects.filter(organization=org, user=stranger).exists()


def test_a_connection_that_assigns_membership_makes_the_user_a_member_on_login(
    client, make_client, orders, make_organization, database
):
    newcomer = get_user_model().objects.create_user(username="nia", email="nia@example.com", password=None)
    org = make_organization("hooli", third_party=True, connections=[(database, {"assign_membership_on_login": True})])
    issued = make_client()
    client.force_login(newcomer)
    code = consent_and_code(client, issued.application, orders.identifier, org.id)
    assert OrganizationMember.objects.filter(organization=org, user=newcomer).exists()
    assert AuditEvent.objects.filter(action="organization.member_join", target_id=org.id).exists()
    assert claims_of(client.post("/oauth/token", exchange(issued, code)).json()["access_token"])["org_id"] == org.id


def test_declining_the_consent_joins_nobody(client, make_client, orders, make_organization, database):
    newcomer = get_user_model().objects.create_user(username="nia", email="nia@example.com", password=None)
    org = make_organization("hooli", third_party=True, connections=[(database, {"assign_membership_on_login": True})])
    client.force_login(newcomer)
    path = org_path(make_client().application, orders.identifier, org.id)
    assert client.get(path).status_code == 200
    client.post(path, {"decision": "decline"})
    assert not OrganizationMember.objects.filter(organization=org, user=newcomer).exists()


# -- consent is per organization ------------------------------------------------------------------


def test_consent_given_for_one_organization_does_not_cover_another_or_none(
    client, make_client, orders, acme, make_organization, database, user
):
    other = make_organization("globex", third_party=True, connections=[database], members=[user])
    issued = make_client()
    client.force_login(user)
    consent_and_code(client, issued.application, orders.identifier, acme.id)
    # Asked again in acme: no screen, straight to the callback with a code.
    assert client.get(org_path(issued.application, orders.identifier, acme.id)).status_code == 302
    # Another organization, or none: the consent screen again.
    assert client.get(org_path(issued.application, orders.identifier, other.id)).status_code == 200
    assert client.get(org_path(issued.application, orders.identifier, None)).status_code == 200
    assert list(UserGrant.objects.filter(user=user).values_list("organization_id", flat=True)) == [acme.id]


# -- require: named, prompted before login, or picked after -------------------------------------


def test_an_app_that_requires_an_organization_without_a_prompt_refuses_a_request_without_one(
    client, make_client, orders, acme, user
):
    client.force_login(user)
    response = client.get(org_path(make_client(usage="require").application, orders.identifier, None))
    error_page_says(response, "parameter organization is required for this client")


def test_the_pre_login_prompt_asks_the_organizations_name_then_goes_on_with_its_id(
    client, make_client, orders, acme, user
):
    app = make_client(usage="require", behavior="pre_login_prompt").application
    path = org_path(app, orders.identifier, None)
    prompt = client.get(path)
    assert prompt.status_code == 302 and prompt["Location"].startswith("/login/organization?")
    page = client.get(prompt["Location"])
    assert "Organization name" in page.content.decode()
    wrong = client.post("/login/organization", {"organization": "nobody", "next": path})
    assert wrong.status_code == 400 and "No organization has this name" in wrong.content.decode()
    chosen = client.post("/login/organization", {"organization": "ACME ", "next": path})
    assert chosen.status_code == 302
    assert parse_qs(urlsplit(chosen["Location"]).query)["organization"] == [acme.id]
    # Then the login, as usual.
    assert client.get(chosen["Location"])["Location"].startswith("/login?")


def test_the_organization_prompt_goes_back_only_to_an_authorize_request_here(client):
    for next_url in ("https://evil.example/authorize?x=1", "/account/apps", ""):
        response = client.post("/login/organization", {"organization": "acme", "next": next_url})
        assert response.status_code == 400


def test_the_post_login_picker_lists_the_users_organizations_that_allow_third_party_apps(
    client, make_client, orders, acme, make_organization, database, user
):
    blocked = make_organization("initech", display_name="Initech", connections=[database], members=[user])
    make_organization("notmine", display_name="Not Mine", third_party=True, connections=[database])
    app = make_client(usage="require", behavior="post_login_prompt").application
    client.force_login(user)
    path = org_path(app, orders.identifier, None)
    picker = client.get(path)
    assert picker["Location"].startswith("/login/organization/choose?")
    page = client.get(picker["Location"]).content.decode()
    assert "Acme Corp" in page and "Initech" not in page and "Not Mine" not in page
    refused = client.post("/login/organization/choose", {"organization": blocked.id, "next": path})
    assert refused.status_code == 200  # not one of the choices: the list again
    picked = client.post("/login/organization/choose", {"organization": acme.id, "next": path})
    assert parse_qs(urlsplit(picked["Location"]).query)["organization"] == [acme.id]
    assert client.get(picked["Location"]).status_code == 200  # the consent screen


# -- first-party apps -------------------------------------------------------------------------------


def test_a_first_party_id_token_carries_org_id_and_errors_go_to_the_callback(
    client, make_client, orders, make_organization, database, user
):
    org = make_organization("acme", connections=[database], members=[user])  # blocks third parties only
    issued = make_client(first_party=True)
    client.force_login(user)
    path = org_path(issued.application, orders.identifier, org.id, scope="openid read:things")
    assert client.get(path).status_code == 200  # the consent screen (the API does not skip it)
    code = code_from(client.post(path, {"decision": "accept", "scope": ["openid", "read:things"]}))
    tokens = client.post("/oauth/token", exchange(issued, code)).json()
    assert claims_of(tokens["id_token"])["org_id"] == org.id
    assert claims_of(tokens["access_token"])["org_id"] == org.id
    other = make_organization("elsewhere", connections=[database])
    refused = callback_error(client.get(org_path(issued.application, orders.identifier, other.id)))
    assert refused["error"] == "access_denied"
    assert refused["error_description"] == f"The user is not a member of the organization {other.id}."


# -- withdrawals take effect at once ------------------------------------------------------------------


def _tokens(client, issued, orders, organization_id):
    code = consent_and_code(client, issued.application, orders.identifier, organization_id)
    return client.post("/oauth/token", exchange(issued, code)).json()


def _refresh(client, issued, refresh_token):
    return client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        },
    )


def test_removing_a_member_makes_their_refresh_token_fail_at_once(client, actor, make_client, orders, acme, user):
    issued = make_client()
    client.force_login(user)
    tokens = _tokens(client, issued, orders, acme.id)
    organization_members_remove(actor=actor, organization=acme, users=[user])
    response = _refresh(client, issued, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert RefreshToken.objects.get(application=issued.application).revoked is not None


def test_blocking_third_party_apps_makes_their_refresh_tokens_fail_at_once(
    client, actor, make_client, orders, acme, user
):
    issued = make_client()
    client.force_login(user)
    tokens = _tokens(client, issued, orders, acme.id)
    organization_update(actor=actor, organization=acme, third_party_client_access="block")
    assert _refresh(client, issued, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    introspected = client.post(
        "/oauth/introspect",
        {
            "token": tokens["access_token"],
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
        },
    )
    assert introspected.json()["active"] is False


def test_a_refresh_is_held_to_the_membership_even_without_a_revocation(client, make_client, orders, acme, user):
    """The decision itself checks the membership at refresh (a row deleted behind the services' back)."""
    issued = make_client()
    client.force_login(user)
    tokens = _tokens(client, issued, orders, acme.id)
    OrganizationMember.objects.filter(organization=acme, user=user).delete()
    response = _refresh(client, issued, tokens["refresh_token"])
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": f"The user is not a member of the organization {acme.id}.",
    }


# -- machine to machine ---------------------------------------------------------------------------------


@pytest.fixture
def machine(actor, orders, make_grant):
    issued = application_create(actor=actor, name="Machine", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    grant = make_grant(orders, client=issued.application, scope=["read:things"], organization_usage="allow")
    return issued, grant


def client_credentials(client, issued, audience, **extra):
    form = {
        "grant_type": "client_credentials",
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "audience": audience,
        **extra,
    }
    return client.post("/oauth/token", form)


def test_client_credentials_for_an_organization_that_authorized_the_grant_carry_org_id(
    client, actor, machine, orders, make_organization
):
    issued, grant = machine
    org = make_organization("acme")  # third-party access is not looked at for client credentials
    refused = client_credentials(client, issued, orders.identifier, organization=org.id)
    assert refused.status_code == 403
    assert refused.json()["error_description"] == (
        f'Client "{issued.application.client_id}" is not authorized to access organization "{org.id}".'
    )
    organization_client_grant_add(actor=actor, organization=org, grant=grant)
    token = client_credentials(client, issued, orders.identifier, organization=org.id).json()["access_token"]
    assert claims_of(token)["org_id"] == org.id
    assert "org_id" not in claims_of(client_credentials(client, issued, orders.identifier).json()["access_token"])


def test_client_credentials_follow_the_grants_organization_usage(
    client, actor, machine, orders, make_organization, make_grant
):
    issued, grant = machine
    org = make_organization("acme")
    grant.organization_usage = "deny"
    grant.save()
    denied = client_credentials(client, issued, orders.identifier, organization=org.id)
    assert denied.json()["error_description"] == "parameter organization is not allowed for this client grant"
    grant.organization_usage = "require"
    grant.save()
    required = client_credentials(client, issued, orders.identifier)
    assert required.json()["error_description"] == "parameter organization is required for this client grant"
    grant.allow_any_organization = True
    grant.save()
    token = client_credentials(client, issued, orders.identifier, organization=org.id).json()["access_token"]
    assert claims_of(token)["org_id"] == org.id
    unknown = client_credentials(client, issued, orders.identifier, organization="org_missing")
    assert unknown.json() == {"error": "invalid_request", "error_description": INVALID.format("org_missing")}
