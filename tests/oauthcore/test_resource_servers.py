"""Resource server invariants: unique, immutable identifiers; the system Management API."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.conf import portcullis_settings
from oauthcore.constants import ClientPolicy, SubjectType, UserPolicy, management_api_scopes
from oauthcore.models import Connection, ResourceServer, TenantSettings
from oauthcore.services.resource_servers import resource_server_delete, resource_server_update

pytestmark = pytest.mark.django_db


def management_api() -> ResourceServer:
    return ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)


def test_migrate_creates_the_management_api_with_its_scopes():
    api = management_api()
    assert api.identifier == "http://127.0.0.1:8000/api/v2/"
    assert api.is_system
    values = set(api.scopes.values_list("value", flat=True))
    assert {"read:clients", "create:client_grants", "delete:grants", "update:tenant_settings"} <= values
    assert values == {value for value, _ in management_api_scopes()}


def test_migrate_creates_the_database_connection_and_tenant_settings():
    connection = Connection.objects.get(name="Username-Password-Authentication")
    assert connection.strategy == "auth0"
    assert TenantSettings.load().enable_dynamic_client_registration is False


def test_defaults_follow_auth0(make_api):
    api = make_api()
    assert api.subject_type_authorization == {
        "user": {"policy": "allow_all"},
        "client": {"policy": "require_client_grant"},
    }
    assert api.token_lifetime == 86400
    assert api.signing_alg == "RS256"
    assert not api.is_system


def test_identifier_is_unique(make_api):
    make_api(identifier="https://orders.example.com/")
    with pytest.raises(ValidationError) as excinfo:
        make_api(identifier="https://orders.example.com/")
    assert excinfo.value.message_dict["identifier"] == ["API with this Identifier already exists."]


def test_database_refuses_a_duplicate_identifier(make_api):
    make_api(identifier="https://orders.example.com/")
    with pytest.raises(IntegrityError), transaction.atomic():
        ResourceServer.objects.bulk_create([ResourceServer(identifier="https://orders.example.com/", name="Copy")])


def test_identifier_cannot_change(make_api, actor):
    api = make_api(identifier="https://orders.example.com/")
    with pytest.raises(ValidationError) as excinfo:
        resource_server_update(actor=actor, resource_server=api, identifier="https://orders2.example.com/")
    assert excinfo.value.message_dict["identifier"] == ["identifier is set at creation and cannot be changed."]
    assert ResourceServer.objects.filter(identifier="https://orders.example.com/").exists()


@pytest.mark.parametrize(
    "identifier",
    # The last two are URLs urlsplit cannot split (it raised, out of the model's checks).
    [
        "orders-api",
        "urn:orders",
        "https://orders.example.com/#x",
        "ftp://x/",
        "https://[orders/",
        "https://o\uff03rders/",
    ],
)
def test_identifier_must_be_an_absolute_url(make_api, identifier):
    with pytest.raises(ValidationError) as excinfo:
        make_api(identifier=identifier)
    assert excinfo.value.message_dict["identifier"][0].startswith("The identifier must")


def test_scope_values_are_checked(make_api):
    with pytest.raises(ValidationError) as excinfo:
        make_api(scopes=[("read things", "")])
    assert excinfo.value.message_dict["value"] == [
        "'read things': scope values cannot contain white space, quotes or backslashes."
    ]
    with pytest.raises(ValidationError) as excinfo:
        make_api(scopes=[("read:x", ""), ("read:x", "again")])
    assert excinfo.value.message_dict["scopes"] == ["The scope 'read:x' is listed twice."]


def test_token_lifetime_is_bounded(make_api):
    with pytest.raises(ValidationError) as excinfo:
        make_api(token_lifetime=2_592_001)
    assert excinfo.value.message_dict["token_lifetime"] == ["Ensure this value is less than or equal to 2592000."]
    api = make_api()
    with pytest.raises(IntegrityError, match=r"rs_token_lifetime_range"), transaction.atomic():
        ResourceServer.objects.filter(pk=api.pk).update(token_lifetime=0)


def test_database_refuses_an_unknown_policy(make_api):
    api = make_api()
    with pytest.raises(IntegrityError, match=r"rs_client_policy_valid"), transaction.atomic():
        ResourceServer.objects.filter(pk=api.pk).update(client_policy="allow_all")


def test_system_api_cannot_be_deleted(actor):
    with pytest.raises(ValidationError) as excinfo:
        resource_server_delete(actor=actor, resource_server=management_api())
    assert excinfo.value.messages == ["System APIs cannot be deleted."]
    assert management_api().pk


def test_system_api_policy_cannot_be_loosened_but_can_be_tightened(actor):
    with pytest.raises(ValidationError) as excinfo:
        resource_server_update(actor=actor, resource_server=management_api(), user_policy=UserPolicy.ALLOW_ALL)
    assert excinfo.value.message_dict["user_policy"] == ["The access policy of a system API cannot be loosened."]
    resource_server_update(actor=actor, resource_server=management_api(), client_policy=ClientPolicy.DENY_ALL)
    assert management_api().client_policy == ClientPolicy.DENY_ALL


def test_removing_a_scope_takes_it_out_of_client_grants(make_api, make_app, make_grant, actor):
    api = make_api(scopes=[("read:a", ""), ("write:a", ""), ("admin:a", "")])
    grant = make_grant(api, client=make_app(), scope=["read:a", "admin:a"], subject_type=SubjectType.USER)
    resource_server_update(actor=actor, resource_server=api, scopes=[("read:a", "Read A"), ("write:a", "")])
    grant.refresh_from_db()
    assert grant.scope == ["read:a"]
    assert dict(api.scopes.values_list("value", "description")) == {"read:a": "Read A", "write:a": ""}


def test_database_refuses_changing_the_identifier(make_api):
    api = make_api(identifier="https://orders.example.com/")
    with (
        pytest.raises(IntegrityError, match=r"identifier is set at creation and cannot be changed."),
        transaction.atomic(),
    ):
        ResourceServer.objects.filter(pk=api.pk).update(identifier="https://other.example.com/")
    ResourceServer.objects.filter(pk=api.pk).update(name="Renamed")  # other columns stay editable
    assert ResourceServer.objects.get(pk=api.pk).name == "Renamed"
