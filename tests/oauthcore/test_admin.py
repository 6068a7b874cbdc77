"""The Django admin, used as a tenant admin would: through HTTP."""

import re
import secrets
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.hashers import check_password
from django.db import connection as db_connection
from django.forms import CheckboxInput, MultipleChoiceField
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, DefaultFor, SubjectType
from oauthcore.models import (
    AccessToken,
    Application,
    AuditEvent,
    ClientGrant,
    Connection,
    ConnectionSetupLink,
    Grant,
    IDToken,
    RefreshToken,
    ResourceServer,
    TenantSettings,
    User,
)
from oauthcore.services.applications import application_create
from oauthcore.services.connection_setup import setup_link_create
from oauthcore.services.connections import connection_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

SECRET_PREFIX = "portcullis_client_secret$"


# -- helpers ---------------------------------------------------------------------------------------------------


def url(model, view="changelist", *args):
    """Object URLs quote the key the way the admin does (``_`` starts an escape: ``cgr_3F…``)."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=[quote(a) for a in args])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def post_data(response, **overrides) -> dict:
    """What the browser would post back from a rendered admin change form, with ``overrides``."""
    data = {}

    def add_form(form):
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(bound.field, MultipleChoiceField) or isinstance(value, list):
                data[bound.html_name] = [str(v) for v in value or ()]
            elif value is not None:
                data[bound.html_name] = str(value)
            if bound.field.show_hidden_initial and value is not None:
                data[bound.html_initial_name] = str(value)

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add_form(formset.management_form)
        for form in formset.forms:
            add_form(form)
    data.update(overrides)
    return data


def secret_in(text: str) -> str:
    return re.search(r"<code>([A-Za-z0-9_\-]{40,})</code>", text).group(1)


def random_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def make_tokens(app, user, audience, *, count=1):
    expires = timezone.now() + timedelta(hours=1)
    made = []
    for _ in range(count):
        access = AccessToken.objects.create(
            token=random_token("at_"),
            expires=expires,
            application=app,
            resource=[audience] if audience else [],
            user=user,
            scope="read:things",
        )
        if user is None:  # client credentials: an access token only
            made.append((access, None, None, None))
            continue
        refresh = RefreshToken.objects.create(
            token=random_token("rt_"),
            application=app,
            user=user,
            access_token=access,
            resource=[audience] if audience else [],
        )
        code = Grant.objects.create(
            code=random_token("code_"),
            application=app,
            user=user,
            expires=expires,
            resource=[audience] if audience else [],
            redirect_uri="https://app.example.com/callback",
            code_challenge="c" * 43,
            code_challenge_method="S256",
        )
        id_token = IDToken.objects.create(application=app, user=user, expires=expires)
        made.append((access, refresh, code, id_token))
    return made


@pytest.fixture
def user(admin_user):
    return admin_user


@pytest.fixture
def world(make_app, make_api, make_grant, actor, user):
    """One of every oauthcore model."""
    app = make_app(name="Shop")
    api = make_api(name="Orders")
    grant = make_grant(api, client=app, scope=["read:things"])
    connection = connection_create(actor=actor, name="partners-db")
    access, refresh, code, id_token = make_tokens(app, user, api.identifier)[0]
    return {
        Application: app,
        ResourceServer: api,
        ClientGrant: grant,
        Connection: connection,
        ConnectionSetupLink: setup_link_create(
            actor=actor, strategy="oidc", connection_name="shop-sso", customer_label="Shop Inc"
        ).link,
        User: user,
        TenantSettings: TenantSettings.load(),
        AuditEvent: AuditEvent.objects.first(),
        AccessToken: access,
        RefreshToken: refresh,
        Grant: code,
        IDToken: id_token,
    }


# -- every page renders --------------------------------------------------------------------------------------


def test_admin_configuration_passes_the_system_checks():
    assert admin.site.check(None) == []


@pytest.mark.parametrize(
    "model",
    [
        Application,
        ResourceServer,
        ClientGrant,
        Connection,
        ConnectionSetupLink,
        User,
        TenantSettings,
        AuditEvent,
        AccessToken,
        RefreshToken,
        Grant,
        IDToken,
    ],
    ids=lambda m: m.__name__,
)
def test_changelist_search_and_change_pages_render(admin_client, world, model):
    obj = world[model]
    assert admin_client.get(url(model), follow=True).status_code == 200
    assert admin_client.get(url(model) + "?q=shop", follow=True).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [Application, ResourceServer, ClientGrant, Connection, ConnectionSetupLink, User])
def test_add_pages_render(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 200


def test_admin_index_lists_the_models(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    names = ("Applications", "APIs", "Client grants", "Connections", "Connection setup links", "Tenant settings")
    for name in (*names, "Audit events"):
        assert name in response.text


# -- applications --------------------------------------------------------------------------------------------


def test_adding_an_application_shows_its_secret_once_and_stores_a_hash(admin_client):
    response = admin_client.post(
        url(Application, "add"),
        {
            "name": "Billing",
            "app_type": "regular_web",
            "is_first_party": "on",
            "redirect_uris": "https://billing.example.com/cb\nhttps://billing.example.com/cb2",
            "web_origins": "https://billing.example.com",
            "client_metadata": "{}",
            "_save": "Save",
        },
        follow=True,
    )

    assert response.status_code == 200
    app = Application.objects.get(name="Billing")
    secret_messages = [m for m in messages_of(response) if "client secret" in m.lower()]
    assert len(secret_messages) == 1
    secret = secret_in(secret_messages[0])
    assert response.text.count(secret) == 1
    assert app.client_secret.startswith(SECRET_PREFIX)
    assert check_password(secret, app.client_secret)
    assert app.callbacks == ["https://billing.example.com/cb", "https://billing.example.com/cb2"]
    assert app.web_origins == ["https://billing.example.com"]
    assert app.grant_types == ["authorization_code", "refresh_token"]  # the defaults
    assert AuditEvent.objects.filter(action="client.create", target_id=str(app.pk), actor_type="user").exists()

    # Never again: not on the next page, not on the change page.
    page = admin_client.get(url(Application, "change", app.pk)).text
    assert secret not in page
    assert app.client_secret not in page
    assert f"••••{secret[-4:]}" in page


def test_adding_a_strict_third_party_application(admin_client):
    response = admin_client.post(
        url(Application, "add"),
        {
            "name": "Partner app",
            "app_type": "regular_web",
            "redirect_uris": "https://partner.example.com/cb",
            "grant_types": ["authorization_code"],
            "client_metadata": "{}",
        },
        follow=True,
    )

    assert response.status_code == 200
    app = Application.objects.get(name="Partner app")
    assert not app.is_first_party
    assert app.third_party_security_mode == "strict"
    assert app.client_id.startswith("tpc_")


def test_invalid_application_input_is_a_field_error(admin_client):
    response = admin_client.post(
        url(Application, "add"),
        {
            "name": "Bad",
            "app_type": "spa",
            "is_first_party": "on",
            "redirect_uris": "https://*.example.com/cb",
            "grant_types": ["client_credentials"],
            "client_metadata": "{}",
        },
    )

    assert response.status_code == 200
    errors = form_errors(response)
    assert "redirect_uris" in errors
    assert "grant_types" in errors
    assert not Application.objects.filter(name="Bad").exists()


def test_the_form_never_takes_a_client_secret(admin_client, make_app):
    app = make_app(name="Shop")
    stored = app.client_secret
    page = admin_client.get(url(Application, "change", app.pk))
    data = post_data(page, client_secret="chosen-by-attacker", hash_client_secret="", client_type="public")

    admin_client.post(url(Application, "change", app.pk), data)

    app.refresh_from_db()
    assert app.client_secret == stored
    assert "client_secret" not in page.context["adminform"].form.fields


def test_immutable_application_fields_are_not_editable_on_change(admin_client, make_app):
    app = make_app(name="Shop")
    page = admin_client.get(url(Application, "change", app.pk))
    form_fields = page.context["adminform"].form.fields
    assert {"client_id", "is_first_party", "third_party_security_mode", "created_via"}.isdisjoint(form_fields)

    data = post_data(
        page,
        name="Shop 2",
        client_id="tpc_" + "a" * 22,
        is_first_party="",
        third_party_security_mode="permissive",
        created_via="dynamic",
    )
    response = admin_client.post(url(Application, "change", app.pk), data)

    assert response.status_code == 302
    before = app.client_id
    app.refresh_from_db()
    assert app.name == "Shop 2"
    assert (app.client_id, app.is_first_party, app.third_party_security_mode, app.created_via) == (
        before,
        True,
        "",
        "admin",
    )
    assert AuditEvent.objects.filter(action="client.update", target_id=str(app.pk)).exists()


def test_rotate_secret_action_shows_a_new_secret_and_the_old_one_stops_working(admin_client, actor):
    from oauthcore.services.applications import application_create

    issued = application_create(
        actor=actor, name="Shop", app_type="regular_web", callbacks=["https://shop.example.com/cb"]
    )
    selected = {"action": "rotate_secret", "_selected_action": [issued.application.pk]}
    answer = admin_client.post(url(Application), selected)
    assert answer.status_code == 302
    response = admin_client.get(answer["Location"])

    app = Application.objects.get(pk=issued.application.pk)
    [message] = [m for m in messages_of(response) if "client secret" in m.lower()]
    new_secret = secret_in(message)
    # Kept server-side until shown (session storage), never sent to the browser in a cookie
    # (Django's default message cookie is signed and compressed, not encrypted).
    assert "messages" not in answer.cookies and "messages" not in response.cookies
    assert new_secret != issued.client_secret
    assert check_password(new_secret, app.client_secret)
    assert not check_password(issued.client_secret, app.client_secret)
    assert app.client_secret_hint == new_secret[-4:]


def test_rotate_secret_needs_exactly_one_application(admin_client, make_app):
    apps = [make_app(name="A"), make_app(name="B")]
    before = [app.client_secret for app in apps]

    response = admin_client.post(
        url(Application),
        {
            "action": "rotate_secret",
            "_selected_action": [app.pk for app in apps],
        },
        follow=True,
    )

    assert any("exactly one" in m for m in messages_of(response))
    assert [Application.objects.get(pk=app.pk).client_secret for app in apps] == before


def test_revoke_tokens_action_deletes_access_tokens(admin_client, make_app, make_api, user):
    app, other = make_app(name="Shop"), make_app(name="Other")
    api = make_api()
    make_tokens(app, user, api.identifier, count=2)
    make_tokens(other, user, api.identifier)

    response = admin_client.post(
        url(Application), {"action": "revoke_tokens", "_selected_action": [app.pk]}, follow=True
    )

    assert any("2 access tokens, 2 refresh tokens and 2 authorization codes" in m for m in messages_of(response))
    assert not AccessToken.objects.filter(application=app).exists()
    assert not RefreshToken.objects.filter(application=app, revoked__isnull=True).exists()
    assert AccessToken.objects.filter(application=other).count() == 1


def test_deleting_an_application_revokes_its_tokens(admin_client, make_app, make_api, user):
    app = make_app(name="Shop")
    api = make_api()
    access = make_tokens(app, user, api.identifier)[0][0]

    confirm = admin_client.get(url(Application, "delete", app.pk))
    assert confirm.status_code == 200
    assert "perms_lacking" not in confirm.context or not confirm.context["perms_lacking"]
    assert access.token not in confirm.text
    response = admin_client.post(url(Application, "delete", app.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Application.objects.filter(pk=app.pk).exists()
    assert not AccessToken.objects.exists()
    assert AuditEvent.objects.filter(action="client.delete").exists()


def test_client_grant_inline_on_the_application_goes_through_the_service(admin_client, make_app, make_api):
    app, api = make_app(name="Shop"), make_api()
    page = admin_client.get(url(Application, "change", app.pk))
    data = post_data(
        page,
        **{
            "client_grants-TOTAL_FORMS": "1",
            "client_grants-0-resource_server": api.identifier,
            "client_grants-0-subject_type": "client",
            "client_grants-0-scope": "read:things write:things",
        },
    )

    response = admin_client.post(url(Application, "change", app.pk), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    grant = ClientGrant.objects.get(client=app)
    assert grant.scope == ["read:things", "write:things"]
    assert AuditEvent.objects.filter(action="client_grant.create", target_id=grant.pk).exists()


def test_editing_and_removing_a_grant_inline(admin_client, make_app, make_api, make_grant):
    app, api = make_app(name="Shop"), make_api()
    grant = make_grant(api, client=app, scope=["read:things"])
    page = admin_client.get(url(Application, "change", app.pk))

    response = admin_client.post(
        url(Application, "change", app.pk), post_data(page, **{"client_grants-0-scope": "read:things write:things"})
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.scope == ["read:things", "write:things"]
    assert AuditEvent.objects.filter(action="client_grant.update", target_id=grant.pk).exists()
    assert not AuditEvent.objects.filter(action="client.update").exists()  # the app itself did not change

    page = admin_client.get(url(Application, "change", app.pk))
    response = admin_client.post(
        url(Application, "change", app.pk), post_data(page, **{"client_grants-0-DELETE": "on"})
    )
    assert response.status_code == 302
    assert not ClientGrant.objects.exists()
    assert AuditEvent.objects.filter(action="client_grant.delete", target_id=grant.pk).exists()


# -- APIs ------------------------------------------------------------------------------------------------------


def test_adding_an_api_with_scopes(admin_client):
    response = admin_client.post(
        url(ResourceServer, "add"),
        {
            "name": "Payments",
            "identifier": "https://payments.example.com/",
            "signing_alg": "RS256",
            "token_lifetime": "3600",
            "user_policy": "allow_all",
            "client_policy": "require_client_grant",
            "scopes-TOTAL_FORMS": "2",
            "scopes-INITIAL_FORMS": "0",
            "scopes-0-value": "read:payments",
            "scopes-0-description": "Read payments",
            "scopes-1-value": "write:payments",
            "scopes-1-description": "",
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    api = ResourceServer.objects.get(identifier="https://payments.example.com/")
    assert sorted(api.scopes.values_list("value", flat=True)) == ["read:payments", "write:payments"]
    event = AuditEvent.objects.get(action="resource_server.create", target_id=api.pk)
    assert event.data["scopes"] == ["read:payments", "write:payments"]


def test_removing_a_scope_prunes_it_from_client_grants(admin_client, make_api, make_app, make_grant):
    api = make_api(identifier="https://orders.example.com/")
    grant = make_grant(api, client=make_app(), scope=["read:things", "write:things"])
    page = admin_client.get(url(ResourceServer, "change", api.pk))
    data = post_data(page, identifier="https://changed.example.com/", name="Orders v2")
    write_form = next(
        i
        for i, f in enumerate(page.context["inline_admin_formsets"][0].formset.forms)
        if f.instance.value == "write:things"
    )
    data[f"scopes-{write_form}-DELETE"] = "on"

    response = admin_client.post(url(ResourceServer, "change", api.pk), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    api.refresh_from_db()
    grant.refresh_from_db()
    assert api.name == "Orders v2"
    assert api.identifier == "https://orders.example.com/"  # immutable: the posted value is ignored
    assert list(api.scopes.values_list("value", flat=True)) == ["read:things"]
    assert grant.scope == ["read:things"]
    assert AuditEvent.objects.get(action="resource_server.update").data["removed_scopes"] == ["write:things"]


def test_the_management_api_cannot_be_deleted_nor_loosened(admin_client):
    management = ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)
    assert admin_client.get(url(ResourceServer, "delete", management.pk)).status_code == 403

    page = admin_client.get(url(ResourceServer, "change", management.pk))
    response = admin_client.post(url(ResourceServer, "change", management.pk), post_data(page, user_policy="allow_all"))

    assert response.status_code == 200
    assert "user_policy" in form_errors(response)
    tightened = admin_client.post(
        url(ResourceServer, "change", management.pk), post_data(page, user_policy="deny_all", token_lifetime="600")
    )
    assert tightened.status_code == 302
    management.refresh_from_db()
    assert (management.user_policy, management.token_lifetime) == ("deny_all", 600)


# -- client grants ---------------------------------------------------------------------------------------------


def grant_form(api, **fields):
    return {"resource_server": api.identifier, "subject_type": "client", "scope": "", **fields}


def test_adding_a_duplicate_client_grant_is_a_field_error(admin_client, make_app, make_api, make_grant):
    app, api = make_app(), make_api()
    make_grant(api, client=app)

    response = admin_client.post(url(ClientGrant, "add"), grant_form(api, client=app.pk, scope="read:things"))

    assert response.status_code == 200
    assert "already exists" in str(form_errors(response)["resource_server"])
    assert ClientGrant.objects.filter(client=app).count() == 1


def test_a_default_grant_on_the_management_api_is_a_field_error(admin_client):
    management = ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)
    assert management.is_system

    response = admin_client.post(url(ClientGrant, "add"), grant_form(management, default_for="third_party_clients"))

    assert response.status_code == 200
    assert "default_for" in form_errors(response)
    assert not ClientGrant.objects.filter(resource_server=management).exists()


def test_adding_a_default_client_grant(admin_client, make_api):
    api = make_api()

    response = admin_client.post(
        url(ClientGrant, "add"),
        grant_form(api, default_for="third_party_clients", subject_type="user", scope="read:things"),
    )

    assert response.status_code == 302
    grant = ClientGrant.objects.get(resource_server=api)
    assert (grant.default_for, grant.subject_type, grant.scope) == (
        DefaultFor.THIRD_PARTY_CLIENTS,
        "user",
        ["read:things"],
    )
    assert AuditEvent.objects.filter(action="client_grant.create", target_id=grant.pk).exists()


def test_a_refusal_after_validation_is_shown_on_the_form_not_as_a_500(admin_client, make_app, make_api, monkeypatch):
    """A concurrent request may create the same grant between validation and save."""
    from oauthcore.admin import client_grants as admin_module
    from oauthcore.exceptions import ConflictError

    def conflict(**kwargs):
        raise ConflictError("A client grant for this application, API and subject type already exists.")

    monkeypatch.setattr(admin_module, "client_grant_create", conflict)
    app, api = make_app(), make_api()

    response = admin_client.post(url(ClientGrant, "add"), grant_form(api, client=app.pk))

    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.non_field_errors())
    assert not ClientGrant.objects.exists()
    assert not AuditEvent.objects.filter(action="client_grant.create").exists()


def test_client_grant_immutable_fields_are_not_editable(admin_client, make_app, make_api, make_grant):
    app, api, other_api = make_app(), make_api(), make_api()
    grant = make_grant(api, client=app, scope=["read:things"])
    page = admin_client.get(url(ClientGrant, "change", grant.pk))

    response = admin_client.post(
        url(ClientGrant, "change", grant.pk),
        post_data(
            page,
            resource_server=other_api.identifier,
            subject_type="user",
            client="",
            default_for="third_party_clients",
            scope="read:things write:things",
        ),
    )

    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.client_id, grant.default_for, grant.resource_server_id, grant.subject_type) == (
        app.pk,
        None,
        api.identifier,
        SubjectType.CLIENT,
    )
    assert grant.scope == ["read:things", "write:things"]


def test_deleting_a_client_grant_goes_through_the_service(admin_client, make_app, make_api, make_grant):
    grant = make_grant(make_api(), client=make_app())

    response = admin_client.post(url(ClientGrant, "delete", grant.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not ClientGrant.objects.filter(pk=grant.pk).exists()
    assert AuditEvent.objects.filter(action="client_grant.delete", target_id=grant.pk).exists()


def test_autocomplete_lookups_answer(admin_client, make_app):
    make_app(name="Shop")
    for model, field in ((ClientGrant, "client"), (Connection, "enabled_clients"), (ResourceServer, "client")):
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": "oauthcore",
                "model_name": model._meta.model_name,
                "field_name": field,
                "term": "Sho",
            },
        )
        assert response.status_code == 200
        results = response.json()["results"]
        assert results and results[0]["text"].startswith("Shop")


# -- connections ---------------------------------------------------------------------------------------------


def test_promote_and_demote_actions(admin_client, actor):
    connection = connection_create(actor=actor, name="partners-db")

    admin_client.post(url(Connection), {"action": "promote", "_selected_action": [connection.pk]})
    connection.refresh_from_db()
    assert connection.is_domain_connection
    assert AuditEvent.objects.filter(action="connection.promote", target_id=connection.pk).exists()

    asked = admin_client.post(url(Connection), {"action": "demote", "_selected_action": [connection.pk]})
    connection.refresh_from_db()
    assert asked.status_code == 200 and connection.is_domain_connection  # a step to confirm first

    admin_client.post(url(Connection), {"action": "demote", "_selected_action": [connection.pk], "confirm": "yes"})
    connection.refresh_from_db()
    assert not connection.is_domain_connection
    assert AuditEvent.objects.filter(action="connection.demote", target_id=connection.pk).exists()


def test_adding_a_connection_and_its_enabled_clients(admin_client, make_app):
    app = make_app()

    response = admin_client.post(
        url(Connection, "add") + "?strategy=auth0",  # the kind is chosen on the step before the form
        {
            "name": "staff",
            "display_name": "Staff",
            "enabled_clients": [app.pk],
        },
    )

    assert response.status_code == 302
    connection = Connection.objects.get(name="staff")
    assert list(connection.enabled_clients.all()) == [app]
    assert AuditEvent.objects.filter(action="connection.create").exists()
    assert AuditEvent.objects.filter(action="connection.clients").exists()

    page = admin_client.get(url(Connection, "change", connection.pk))
    admin_client.post(url(Connection, "change", connection.pk), post_data(page, name="renamed"))
    connection.refresh_from_db()
    assert connection.name == "staff"


def test_the_database_connection_cannot_be_deleted(admin_client):
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    assert admin_client.get(url(Connection, "delete", database.pk)).status_code == 403


# -- users -----------------------------------------------------------------------------------------------------


def test_adding_a_user_lands_in_the_database_connection(admin_client):
    page = admin_client.get(url(User, "add"))
    database = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    assert page.context["adminform"].form.initial["connection"] == database.pk

    response = admin_client.post(
        url(User, "add"),
        {
            "username": "alice",
            "email": "alice@example.com",
            "connection": database.pk,
            "usable_password": "false",
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    alice = User.objects.get(username="alice")
    assert alice.connection == database
    change = admin_client.get(url(User, "change", alice.pk))
    assert alice.user_id in change.text
    assert "connection" not in change.context["adminform"].form.fields  # part of the user_id


# -- tenant settings -------------------------------------------------------------------------------------------


def test_tenant_settings_is_a_singleton(admin_client):
    tenant = TenantSettings.load()
    response = admin_client.get(url(TenantSettings))
    assert response.status_code == 302
    assert response["Location"] == url(TenantSettings, "change", tenant.pk)
    assert admin_client.get(url(TenantSettings, "add")).status_code == 403
    assert admin_client.get(url(TenantSettings, "delete", tenant.pk)).status_code == 403


def test_tenant_settings_are_saved_through_the_service(admin_client, make_api):
    api = make_api()
    tenant = TenantSettings.load()
    page = admin_client.get(url(TenantSettings, "change", tenant.pk))

    response = admin_client.post(
        url(TenantSettings, "change", tenant.pk), post_data(page, default_audience="https://nowhere.example.com/")
    )
    assert response.status_code == 200
    assert "default_audience" in form_errors(response)

    response = admin_client.post(
        url(TenantSettings, "change", tenant.pk), post_data(page, default_audience=api.identifier, friendly_name="Acme")
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.default_audience, tenant.friendly_name) == (api.identifier, "Acme")
    assert AuditEvent.objects.filter(action="tenant_settings.update").exists()


# -- audit log -------------------------------------------------------------------------------------------------


def test_the_audit_log_is_read_only_and_searchable(admin_client, make_app):
    app = make_app(name="Shop")
    event = AuditEvent.objects.get(action="client.create")

    assert admin_client.get(url(AuditEvent, "add")).status_code == 403
    assert admin_client.post(url(AuditEvent, "change", event.pk), {"action": "x"}).status_code == 403
    assert admin_client.get(url(AuditEvent, "delete", event.pk)).status_code == 403
    response = admin_client.get(url(AuditEvent), {"q": str(app.pk), "actor_type__exact": "system"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [event]
    assert admin_client.get(url(AuditEvent), {"action": "client.create"}).status_code == 200


# -- tokens ----------------------------------------------------------------------------------------------------


TOKEN_MODELS = [AccessToken, RefreshToken, Grant, IDToken]


@pytest.mark.parametrize("model", TOKEN_MODELS, ids=lambda m: m.__name__)
def test_tokens_cannot_be_added_changed_or_deleted(admin_client, world, model):
    obj = world[model]
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403


@pytest.mark.parametrize("model", [AccessToken, RefreshToken, Grant], ids=lambda m: m.__name__)
def test_token_values_are_masked_and_not_searchable(admin_client, world, model):
    obj = world[model]
    value = obj.code if model is Grant else obj.token

    changelist = admin_client.get(url(model))
    change = admin_client.get(url(model, "change", obj.pk))
    search = admin_client.get(url(model), {"q": value})

    for response in (changelist, change):
        assert value not in response.text
        assert f"••••{value[-4:]}" in response.text
    assert list(search.context["cl"].result_list) == []
    # …while the application and the user stay searchable.
    assert list(admin_client.get(url(model), {"q": "Shop"}).context["cl"].result_list) == [obj]


def test_revoking_an_access_token_revokes_its_family(admin_client, make_app, make_api, user):
    app, api = make_app(), make_api()
    ((access, refresh, code, _),) = make_tokens(app, user, api.identifier)
    other_api = make_api()
    ((kept, *_),) = make_tokens(app, user, other_api.identifier)

    response = admin_client.post(url(AccessToken), {"action": "revoke", "_selected_action": [access.pk]}, follow=True)

    assert any(
        "Revoked 1 access tokens, 1 refresh tokens and 1 authorization codes" in m for m in messages_of(response)
    )
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    assert not Grant.objects.filter(pk=code.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert AccessToken.objects.filter(pk=kept.pk).exists()
    assert AuditEvent.objects.filter(action="tokens.revoke", actor_type="user").exists()


@pytest.mark.parametrize("model", [RefreshToken, Grant, IDToken], ids=lambda m: m.__name__)
def test_revoke_action_on_other_token_admins(admin_client, world, model):
    access = world[AccessToken]

    response = admin_client.post(url(model), {"action": "revoke", "_selected_action": [world[model].pk]}, follow=True)

    assert response.status_code == 200
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_client_credentials_tokens_are_revoked_without_touching_user_tokens(admin_client, make_app, make_api, user):
    app, api = make_app(), make_api()
    ((machine, *_),) = make_tokens(app, None, api.identifier)
    ((person, *_),) = make_tokens(app, user, api.identifier)

    admin_client.post(url(AccessToken), {"action": "revoke", "_selected_action": [machine.pk]})

    assert not AccessToken.objects.filter(pk=machine.pk).exists()
    assert AccessToken.objects.filter(pk=person.pk).exists()


# -- no query per row ------------------------------------------------------------------------------------------


def populate(model, n, *, make_app, make_api, make_grant, actor, user):
    offset = model.objects.count()
    if model is Application:
        for i in range(n):
            make_app(name=f"App {i}")
    elif model is ResourceServer:
        for _ in range(n):
            make_api()
    elif model is ClientGrant:
        api = make_api()
        for i in range(n):
            make_grant(api, client=make_app(name=f"App {i}"))
    elif model is Connection:
        for i in range(offset, offset + n):
            connection_create(actor=actor, name=f"conn-{i}")
    elif model is User:
        for i in range(offset, offset + n):
            User.objects.create_user(username=f"user{i}", email=f"user{i}@example.com")
    elif model is AuditEvent:
        for i in range(n):
            make_app(name=f"App {i}")
    else:
        api = make_api()
        for i in range(offset, offset + n):
            make_tokens(make_app(name=f"App {i}"), User.objects.create_user(username=f"u{i}"), api.identifier)


@pytest.mark.parametrize(
    "model",
    [Application, ResourceServer, ClientGrant, Connection, User, AuditEvent, *TOKEN_MODELS],
    ids=lambda m: m.__name__,
)
def test_changelists_do_not_query_per_row(
    admin_client, django_assert_max_num_queries, model, make_app, make_api, make_grant, actor, user
):
    factories = {"make_app": make_app, "make_api": make_api, "make_grant": make_grant, "actor": actor, "user": user}
    populate(model, 3, **factories)
    admin_client.get(url(model))  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as few:
        assert admin_client.get(url(model)).status_code == 200
    populate(model, 20, **factories)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url(model))

    assert response.context["cl"].result_count >= 20


def test_issued_tokens_are_stored_as_checksums_and_shown_by_their_end(admin_client, make_app):
    """Tokens minted by the server keep only their SHA-256 (RFC 9700); the admin shows its tail."""
    from oauth2_provider.models import set_token_value

    from oauthcore.models import AccessToken as Token

    token = Token(application=make_app(), expires=timezone.now() + timedelta(hours=1), scope="x")
    set_token_value(token, "eyJ-the-real-token-value-0123456789")
    token.save()
    stored = Token.objects.get(pk=token.pk)
    assert stored.token == "" and len(stored.token_checksum) == 64
    page = admin_client.get(f"/admin/oauthcore/accesstoken/{token.pk}/change/").content.decode()
    assert f"sha256 …{stored.token_checksum[-8:]}" in page and "the-real-token" not in page


def test_a_refused_token_request_reads_in_words_in_the_audit_log(admin_client, client, actor, make_api):
    api = make_api()
    issued = application_create(actor=actor, name="Robot", app_type=AppType.NON_INTERACTIVE, is_first_party=True)
    refused = client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": issued.application.client_id,
            "client_secret": issued.client_secret,
            "audience": api.identifier,
        },
    )
    assert refused.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")

    page = admin_client.get(url(AuditEvent, "change", event.pk)).text

    why = re.search(r'<div class="readonly">(The API needs a client grant[^<]*)</div>', page)
    assert why, "no denial in words"
    assert why.group(1).endswith("(rule 4: The API&#x27;s access policy)")
    assert "<dt>Trace</dt>" in page and "<li>1. Client credentials is one of the app&#x27;s grant types</li>" in page
    assert "<li>denied: client_grant_missing</li>" in page  # the stored trace, line by line
    assert '"trace": [' not in page  # not a JSON dump
    other = AuditEvent.objects.exclude(action="access.denied").first()
    assert "why it was denied" not in admin_client.get(url(AuditEvent, "change", other.pk)).text


def test_an_application_page_reads_its_grants_without_a_query_per_grant(
    admin_client, django_assert_max_num_queries, make_app, make_api, make_grant
):
    app = make_app(name="Shop")
    make_grant(make_api(), client=app)
    admin_client.get(url(Application, "change", app.pk))  # warm up the session and content types
    with CaptureQueriesContext(db_connection) as one:
        admin_client.get(url(Application, "change", app.pk))
    for _ in range(8):
        make_grant(make_api(), client=app)

    with django_assert_max_num_queries(len(one.captured_queries)):
        page = admin_client.get(url(Application, "change", app.pk)).text

    assert page.count("Shop → https://api") == 9  # each row is named by its app and API, not by row ids
    assert "client " + str(app.pk) not in page
