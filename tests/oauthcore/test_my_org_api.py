"""The My Organization API over HTTP, with tokens from the real /authorize and /oauth/token.

An organization's administrator signs in to a first-party console app with organization= and the My
Organization API's audience; the token's org_id is the organization every call manages. Enforced:
the caller must be an administrator of that organization, the token must be a user's, carry an
org_id and the endpoint's scope, and be for this API's audience; a third-party app never gets such
a token; removing a member takes their tokens at once; the last administrator stays.
"""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from oauthcore.audit import DENIAL_ACTION
from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    DATABASE_CONNECTION_NAME,
    AppType,
    ClientPolicy,
    GrantType,
    SubjectType,
    UserPolicy,
    my_organization_api_scopes,
)
from oauthcore.models import AuditEvent, Connection, OrganizationMember, ResourceServer
from oauthcore.models.organizations import MemberRole
from oauthcore.policy import not_authorized
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.organizations import (
    LAST_ADMIN,
    organization_member_set_role,
    organization_members_add,
    organization_members_remove,
)
from oauthcore.services.resource_servers import resource_server_update
from tests.oauthcore.flows import CALLBACK, authorize_path, code_from, exchange

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

MY_ORG = portcullis_settings.my_organization_api_identifier
MANAGEMENT_API = portcullis_settings.management_api_identifier
ALL_SCOPES = " ".join(value for value, _ in my_organization_api_scopes())


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_of(response, status: int) -> dict:
    """The management API's envelope, with its status."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "errorCode"} and body["statusCode"] == status
    return body


def set_role(actor, organization, user, role=MemberRole.ADMIN):
    membership = OrganizationMember.objects.get(organization=organization, user=user)
    organization_member_set_role(actor=actor, membership=membership, role=role)


@pytest.fixture
def database():
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


@pytest.fixture
def people():
    def make(*names):
        return [
            get_user_model().objects.create_user(username=name, email=f"{name}@acme.example", password=None)
            for name in names
        ]

    return make


@pytest.fixture
def ada_and_bob(people):
    return people("ada", "bob")


@pytest.fixture
def acme(actor, make_organization, database, ada_and_bob):
    """Ada administers acme; Bob is a plain member."""
    ada, _ = ada_and_bob
    organization = make_organization("acme", display_name="Acme Corp", connections=[database], members=ada_and_bob)
    set_role(actor, organization, ada)
    return organization


@pytest.fixture
def my_org_api():
    return ResourceServer.objects.get(identifier=MY_ORG)


@pytest.fixture
def console(actor, my_org_api, make_grant):
    """The tenant's first-party console, where organizations' administrators manage them."""
    issued = application_create(
        actor=actor,
        name="Acme Console",
        app_type=AppType.REGULAR_WEB,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        organization_usage="allow",
    )
    make_grant(my_org_api, client=issued.application, allow_all_scopes=True, subject_type=SubjectType.USER)
    return issued


def tokens_for(client, issued, user, organization=None, scope=ALL_SCOPES) -> dict:
    """Through the browser: log in, /authorize (the consent screen when one is asked), the code
    exchange; then log out, as only the token speaks to the API."""
    client.force_login(user)
    path = authorize_path(issued.application, MY_ORG, scope=scope)
    if organization is not None:
        path += "&" + urlencode({"organization": organization.id})
    response = client.get(path)
    if response.status_code == 200:  # the consent screen
        response = client.post(path, {"decision": "accept", "scope": scope.split()})
    tokens = client.post("/oauth/token", exchange(issued, code_from(response))).json()
    client.logout()
    return tokens


def access_token(client, issued, user, organization=None, scope=ALL_SCOPES) -> str:
    return tokens_for(client, issued, user, organization, scope)["access_token"]


def refresh(client, issued, refresh_token):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
    }
    return client.post("/oauth/token", form)


def patch(client, token, body):
    return client.patch("/my-org/details", json.dumps(body), content_type="application/json", **bearer(token))


# -- the API itself ---------------------------------------------------------------------------------


def test_the_my_organization_api_is_a_system_api_for_users_only(my_org_api):
    """Created with the tenant, as Auth0 creates it: per-app authorization for users, no client access."""
    assert my_org_api.is_system
    assert (my_org_api.user_policy, my_org_api.client_policy) == (
        UserPolicy.REQUIRE_CLIENT_GRANT,
        ClientPolicy.DENY_ALL,
    )
    assert {"read:my_org:details", "update:my_org:details", "read:my_org:members", "delete:my_org:members"} <= set(
        my_org_api.scopes.values_list("value", flat=True)
    )


# -- details ----------------------------------------------------------------------------------------


def test_an_admin_reads_the_details_of_the_organization_their_token_names(client, console, acme, ada_and_bob):
    ada, _ = ada_and_bob
    token = access_token(client, console, ada, acme)
    assert claims_of(token)["org_id"] == acme.id and claims_of(token)["aud"] == MY_ORG
    response = client.get("/my-org/details", **bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "id": acme.id,
        "name": "acme",
        "display_name": "Acme Corp",
        "branding": {},
        "third_party_client_access": "block",
    }


def test_an_admin_updates_the_display_name_and_branding_and_the_audit_names_them(client, console, acme, ada_and_bob):
    ada, _ = ada_and_bob
    token = access_token(client, console, ada, acme)
    branding = {"logo_url": "https://acme.example/logo.png", "colors": {"primary": "#112233"}}
    response = patch(client, token, {"display_name": "Acme Corporation", "branding": branding})
    assert response.status_code == 200, response.content
    assert (response.json()["display_name"], response.json()["branding"]) == ("Acme Corporation", branding)
    acme.refresh_from_db()
    assert (acme.display_name, acme.branding) == ("Acme Corporation", branding)
    event = AuditEvent.objects.filter(action="organization.update", target_id=acme.id).latest("id")
    assert (event.actor_type, event.actor_id) == ("user", str(ada.pk))
    assert client.get("/my-org/details", **bearer(token)).json()["display_name"] == "Acme Corporation"


def test_a_bad_update_is_a_clear_400_and_changes_nothing(client, console, acme, ada_and_bob):
    ada, _ = ada_and_bob
    token = access_token(client, console, ada, acme)
    renamed = error_of(patch(client, token, {"name": "evil"}), 400)
    assert renamed["message"] == "Payload validation error: 'Additional properties not allowed (name)'."
    colour = error_of(patch(client, token, {"branding": {"colors": {"primary": "red"}}}), 400)
    assert "branding.colors.primary must be a colour" in colour["message"]
    wrong_type = error_of(patch(client, token, {"third_party_client_access": "sometimes"}), 400)
    assert "third_party_client_access" in wrong_type["message"]
    acme.refresh_from_db()
    assert (acme.name, acme.branding, acme.third_party_client_access) == ("acme", {}, "block")


@pytest.fixture
def partner_in_acme(actor, make_api, make_grant, database):
    """A strict third-party app that signs acme's users in to an Orders API, once acme allows it."""
    connection_set_domain_level(actor=actor, connection=database, is_domain_connection=True)
    orders = make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:things", "Read your things")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )
    issued = application_create(
        actor=actor,
        name="Partner app",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        organization_usage="allow",
    )
    make_grant(orders, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
    return issued, orders


def test_blocking_third_party_access_revokes_what_third_party_apps_hold_there(
    client, console, acme, ada_and_bob, partner_in_acme
):
    ada, bob = ada_and_bob
    partner, orders = partner_in_acme
    token = access_token(client, console, ada, acme)
    assert patch(client, token, {"third_party_client_access": "allow"}).json()["third_party_client_access"] == "allow"

    client.force_login(bob)
    path = authorize_path(partner.application, orders.identifier, scope="read:things offline_access")
    path += "&" + urlencode({"organization": acme.id})
    assert client.get(path).status_code == 200  # the consent screen, now that acme allows third parties
    code = code_from(client.post(path, {"decision": "accept", "scope": ["read:things", "offline_access"]}))
    partner_tokens = client.post("/oauth/token", exchange(partner, code)).json()
    assert refresh(client, partner, partner_tokens["refresh_token"]).status_code == 200

    assert patch(client, token, {"third_party_client_access": "block"}).status_code == 200
    latest = partner_tokens["refresh_token"]
    refused = refresh(client, partner, latest)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert client.get(path).status_code == 400  # and the app cannot sign acme's users in again


# -- members ----------------------------------------------------------------------------------------


def test_an_admin_lists_the_members_with_their_roles_in_a_bounded_number_of_queries(
    client, actor, console, acme, ada_and_bob, people, django_assert_max_num_queries
):
    ada, bob = ada_and_bob
    token = access_token(client, console, ada, acme)
    with django_assert_max_num_queries(6) as few:
        listed = client.get("/my-org/members", **bearer(token))
    assert listed.status_code == 200
    assert [(m["user_id"], m["email"], m["role"]) for m in listed.json()] == [
        (ada.user_id, "ada@acme.example", "admin"),
        (bob.user_id, "bob@acme.example", "member"),
    ]
    organization_members_add(actor=actor, organization=acme, users=people("cy", "dee", "eve", "fay"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        paged = client.get("/my-org/members?per_page=4&page=1&include_totals=true", **bearer(token))
    assert paged.json()["total"] == 6 and [m["email"] for m in paged.json()["members"]] == [
        "eve@acme.example",
        "fay@acme.example",
    ]
    unknown = error_of(client.get("/my-org/members?search=ada", **bearer(token)), 400)
    assert unknown["message"] == "Query validation error: Additional properties not allowed: search."


def test_an_admin_removes_a_member_whose_tokens_then_fail(client, console, acme, ada_and_bob, my_org_api, actor):
    resource_server_update(actor=actor, resource_server=my_org_api, allow_offline_access=True)
    ada, bob = ada_and_bob
    token = access_token(client, console, ada, acme)
    bobs = tokens_for(client, console, bob, acme, scope=f"{ALL_SCOPES} offline_access")

    assert client.delete(f"/my-org/members/{bob.user_id}", **bearer(token)).status_code == 204

    assert [m["user_id"] for m in client.get("/my-org/members", **bearer(token)).json()] == [ada.user_id]
    refused = refresh(client, console, bobs["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert error_of(client.get("/my-org/details", **bearer(bobs["access_token"])), 401)["message"] == "Invalid token"
    event = AuditEvent.objects.get(action="organization.members_remove", target_id=acme.id)
    assert (event.actor_type, event.actor_id, event.data["users"]) == ("user", str(ada.pk), [bob.user_id])
    gone = error_of(client.delete(f"/my-org/members/{bob.user_id}", **bearer(token)), 404)
    assert gone["message"] == "The user is not a member of the organization."
    assert error_of(client.delete("/my-org/members/not-a-user-id", **bearer(token)), 404)["errorCode"] == (
        "inexistent_member"
    )


def test_the_last_admin_cannot_remove_themselves_but_one_of_two_can(client, actor, console, acme, ada_and_bob):
    ada, bob = ada_and_bob
    token = access_token(client, console, ada, acme)
    refused = error_of(client.delete(f"/my-org/members/{ada.user_id}", **bearer(token)), 400)
    assert refused["message"] == LAST_ADMIN
    assert OrganizationMember.objects.filter(organization=acme, user=ada).exists()
    assert client.get("/my-org/details", **bearer(token)).status_code == 200  # and nothing was revoked

    set_role(actor, acme, bob)
    assert client.delete(f"/my-org/members/{ada.user_id}", **bearer(token)).status_code == 204
    assert list(acme.memberships.values_list("user__username", "role")) == [("bob", "admin")]
    assert client.get("/my-org/details", **bearer(token)).status_code == 401  # her own token went with her


def test_removing_every_admin_at_once_is_refused_when_the_organization_manages_itself(actor, acme, ada_and_bob):
    """The rule is the service's (under a lock on the administrators' rows), so no two requests get
    around it; the tenant's own administrators, without ``keep_an_admin``, may still empty it."""
    ada, bob = ada_and_bob
    set_role(actor, acme, bob)
    with pytest.raises(ValidationError) as excinfo:
        organization_members_remove(actor=actor, organization=acme, users=[ada, bob], keep_an_admin=True)
    assert excinfo.value.messages == [LAST_ADMIN]
    assert acme.memberships.count() == 2
    assert organization_members_remove(actor=actor, organization=acme, users=[ada, bob]) == 2


def test_identity_providers_are_the_organizations_enabled_connections(client, console, acme, ada_and_bob):
    ada, _ = ada_and_bob
    token = access_token(client, console, ada, acme)
    response = client.get("/my-org/identity-providers", **bearer(token))
    assert response.status_code == 200
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    assert response.json() == {
        "identity_providers": [
            {
                "id": database.id,
                "name": DATABASE_CONNECTION_NAME,
                "display_name": database.label,
                "strategy": "auth0",
                "assign_membership_on_login": False,
                "show_as_button": True,
                "is_signup_enabled": False,
            }
        ]
    }


# -- who may call it ------------------------------------------------------------------------------


def test_a_plain_member_is_refused_every_endpoint(client, console, acme, ada_and_bob):
    _, bob = ada_and_bob
    token = access_token(client, console, bob, acme)
    for method, path in [
        ("get", "/my-org/details"),
        ("patch", "/my-org/details"),
        ("get", "/my-org/members"),
        ("delete", f"/my-org/members/{bob.user_id}"),
        ("get", "/my-org/identity-providers"),
    ]:
        refused = error_of(getattr(client, method)(path, **bearer(token)), 403)
        assert refused["message"] == "Only administrators of the organization may manage it.", path
    assert OrganizationMember.objects.filter(organization=acme, user=bob).exists()


def test_a_token_without_org_id_is_refused(client, console, acme, ada_and_bob):
    ada, _ = ada_and_bob
    token = access_token(client, console, ada)
    assert "org_id" not in claims_of(token)
    refused = error_of(client.get("/my-org/details", **bearer(token)), 403)
    assert refused["errorCode"] == "organization_required" and "org_id" in refused["message"]


def test_a_token_for_another_organization_cannot_touch_this_one(
    client, actor, console, acme, ada_and_bob, people, make_organization, database
):
    """No path names an organization: the token's org_id is the only one a call can reach, and being
    an administrator of one organization gives nothing in another."""
    ada, bob = ada_and_bob
    (carol,) = people("carol")
    globex = make_organization("globex", display_name="Globex", connections=[database], members=[carol, ada])
    set_role(actor, globex, carol)

    carols = access_token(client, console, carol, globex)
    assert client.get("/my-org/details", **bearer(carols)).json()["id"] == globex.id
    assert error_of(client.delete(f"/my-org/members/{bob.user_id}", **bearer(carols)), 404)
    assert patch(client, carols, {"display_name": "Taken over"}).json()["id"] == globex.id
    acme.refresh_from_db()
    assert acme.display_name == "Acme Corp" and acme.memberships.filter(user=bob).exists()

    adas_in_globex = access_token(client, console, ada, globex)  # a plain member there
    assert error_of(client.get("/my-org/members", **bearer(adas_in_globex)), 403)


def test_each_endpoint_needs_its_scope(client, console, acme, ada_and_bob):
    ada, bob = ada_and_bob
    token = access_token(client, console, ada, acme, scope="read:my_org:details")
    assert client.get("/my-org/details", **bearer(token)).status_code == 200
    for method, path, scope in [
        ("patch", "/my-org/details", "update:my_org:details"),
        ("get", "/my-org/members", "read:my_org:members"),
        ("delete", f"/my-org/members/{bob.user_id}", "delete:my_org:members"),
        ("get", "/my-org/identity-providers", "read:my_org:identity_providers"),
    ]:
        refused = error_of(getattr(client, method)(path, **bearer(token)), 403)
        assert (refused["errorCode"], refused["message"]) == (
            "insufficient_scope",
            f"Insufficient scope, expected any of: {scope}",
        )
    assert OrganizationMember.objects.filter(organization=acme, user=bob).exists()


def test_no_token_or_a_malformed_one_is_a_401(client, acme):
    assert error_of(client.get("/my-org/details"), 401)["message"] == "Missing authentication"
    assert error_of(client.get("/my-org/details", **bearer("not-a-token")), 401)["message"] == "Invalid token"
    assert error_of(client.get("/my-org/nothing-here"), 404)["errorCode"] == "inexistent_resource"


@pytest.mark.parametrize("audience", [MY_ORG, MANAGEMENT_API], ids=["my-org", "management"])
def test_a_third_party_app_is_refused_a_system_api_at_authorize(client, actor, acme, ada_and_bob, audience):
    """Rule 3 of the decision, the same refusal for both system APIs, before any organization rule."""
    ada, _ = ada_and_bob
    partner = application_create(
        actor=actor,
        name="Partner app",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE],
        organization_usage="allow",
    ).application
    client.force_login(ada)
    path = authorize_path(partner, audience, scope="read:my_org:details")
    response = client.get(f"{path}&{urlencode({'organization': acme.id})}")
    assert response.status_code == 400  # an error page here: a strict app's callback never gets the error
    page = response.content.decode().replace("&quot;", '"')
    assert "access_denied" in page and not_authorized(partner.client_id, audience) in page
    refusal = AuditEvent.objects.get(action=DENIAL_ACTION, target_id=str(partner.pk))
    assert (refusal.data["reason"], refusal.data["audience"]) == ("system_api_third_party", audience)


def test_a_management_api_token_is_refused_and_a_my_org_token_is_refused_by_the_management_api(
    client, actor, console, acme, ada_and_bob, make_grant
):
    machine = application_create(actor=actor, name="Machine", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    management = ResourceServer.objects.get(identifier=MANAGEMENT_API)
    make_grant(management, client=machine.application, scope=["read:organizations", "update:organizations"])
    form = {
        "grant_type": "client_credentials",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
        "audience": MANAGEMENT_API,
    }
    management_token = client.post("/oauth/token", form).json()["access_token"]
    assert error_of(client.get("/my-org/details", **bearer(management_token)), 401)["message"] == "Bad audience"

    ada, _ = ada_and_bob
    my_org_token = access_token(client, console, ada, acme)
    assert error_of(client.get("/api/v2/clients", **bearer(my_org_token)), 401)["message"] == "Bad audience"


def test_no_client_credentials_token_is_issued_for_the_my_organization_api(client, actor, my_org_api, make_grant):
    machine = application_create(actor=actor, name="Machine", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(my_org_api, client=machine.application, scope=["read:my_org:details"])
    form = {
        "grant_type": "client_credentials",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
        "audience": MY_ORG,
    }
    response = client.post("/oauth/token", form)
    assert response.status_code == 403 and response.json()["error"] == "access_denied"
