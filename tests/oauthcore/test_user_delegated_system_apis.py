"""The My Account API and the MFA API over HTTP: system APIs every tenant has, reached only on a
user's behalf through a first-party app (rule 3 of the decision refuses third-party apps, rule 4's
"No apps allowed" client policy refuses client credentials)."""

from urllib.parse import parse_qs, urlsplit

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
    RedirectionPolicy,
    SecurityMode,
    UserPolicy,
    mfa_api_scopes,
    my_account_api_scopes,
)
from oauthcore.models import AuditEvent, Connection, ResourceServer
from oauthcore.policy import not_authorized
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.resource_servers import resource_server_update
from tests.oauthcore.flows import CALLBACK, authorize_path

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

MY_ACCOUNT = portcullis_settings.my_account_api_identifier
MFA = portcullis_settings.mfa_api_identifier
APIS = {MY_ACCOUNT: ("me", my_account_api_scopes()), MFA: ("mfa", mfa_api_scopes())}
FIRST_SCOPE = {MY_ACCOUNT: "read:me:profile", MFA: "read:authenticators"}


@pytest.fixture
def dana(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="dana", email="dana@example.com", password=None)


def third_party(actor, mode: str, redirection_policy: str):
    return application_create(
        actor=actor,
        name=f"Partner ({mode})",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        third_party_security_mode=mode,
        redirection_policy=redirection_policy,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE],
    ).application


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_each_is_a_system_api_for_users_only_with_auth0s_scope_names(audience):
    """Created with the tenant, as Auth0 creates them: per-app authorization for users, no client access."""
    api = ResourceServer.objects.get(identifier=audience)
    path, scopes = APIS[audience]
    assert audience == f"{portcullis_settings.issuer}/{path}/"
    assert api.is_system and (api.user_policy, api.client_policy) == (
        UserPolicy.REQUIRE_CLIENT_GRANT,
        ClientPolicy.DENY_ALL,
    )
    assert set(api.scopes.values_list("value", flat=True)) == {value for value, _ in scopes}


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_a_strict_third_party_app_gets_the_error_page_at_authorize(client, actor, dana, audience):
    """Open redirect protection: the refusal is shown here, never sent to the app's callback."""
    partner = third_party(actor, SecurityMode.STRICT, RedirectionPolicy.OPEN_REDIRECT_PROTECTION)
    client.force_login(dana)
    response = client.get(authorize_path(partner, audience, scope=FIRST_SCOPE[audience]))
    assert response.status_code == 400
    page = response.content.decode().replace("&quot;", '"')
    assert "access_denied" in page and not_authorized(partner.client_id, audience) in page
    assert CALLBACK not in page
    refusal = AuditEvent.objects.get(action=DENIAL_ACTION, target_id=str(partner.pk))
    assert (refusal.data["reason"], refusal.data["audience"]) == ("system_api_third_party", audience)


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_a_permissive_third_party_app_is_redirected_with_access_denied(client, actor, dana, audience):
    """``allow_always``: the error goes to the callback (RFC 6749 section 4.1.2.1) with the same sentence."""
    partner = third_party(actor, SecurityMode.PERMISSIVE, RedirectionPolicy.ALLOW_ALWAYS)
    client.force_login(dana)
    response = client.get(authorize_path(partner, audience, scope=FIRST_SCOPE[audience]))
    assert response.status_code == 302 and response["Location"].startswith(f"{CALLBACK}?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert params["error"] == "access_denied" and params["state"] == "s"
    assert params["error_description"] == not_authorized(partner.client_id, audience)


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_client_credentials_are_refused_even_for_a_first_party_app_with_a_grant(client, actor, audience):
    machine = application_create(actor=actor, name="Machine", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    form = {
        "grant_type": "client_credentials",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
        "audience": audience,
    }
    response = client.post("/oauth/token", form)
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": not_authorized(machine.application.client_id, audience)
        + ' You need to create a "client-grant" associated to this API.',
    }


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_a_first_party_app_may_hold_a_user_grant_a_third_party_app_never(make_app, make_grant, audience):
    api = ResourceServer.objects.get(identifier=audience)
    grant = make_grant(api, client=make_app(name="Account"), subject_type="user", scope=[FIRST_SCOPE[audience]])
    assert (grant.subject_type, grant.scope) == ("user", [FIRST_SCOPE[audience]])
    with pytest.raises(ValidationError) as excinfo:
        make_grant(api, client=make_app(name="Partner", is_first_party=False), subject_type="user")
    assert excinfo.value.message_dict["client"] == ["Third-party applications cannot be granted access to system APIs."]


@pytest.mark.parametrize("audience", list(APIS), ids=list(name for name, _ in APIS.values()))
def test_the_access_policy_cannot_be_loosened(actor, audience):
    api = ResourceServer.objects.get(identifier=audience)
    for field, value in (("user_policy", UserPolicy.ALLOW_ALL), ("client_policy", ClientPolicy.REQUIRE_CLIENT_GRANT)):
        with pytest.raises(ValidationError) as excinfo:
            resource_server_update(actor=actor, resource_server=api, **{field: value})
        assert excinfo.value.message_dict[field] == ["The access policy of a system API cannot be loosened."]
