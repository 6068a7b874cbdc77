"""User-subject grants on system APIs (issue 15, point 3): refused on the Management API by the model and
the admin, and the ones created before are removed by migration 0012, each with its audit entry and the
user tokens it gave. The My Organization API is the one system API reached on a user's behalf: a
first-party app may have a user grant on it, a third-party app never."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import SubjectType
from oauthcore.models import AccessToken, AuditEvent, ClientGrant, RefreshToken, ResourceServer
from oauthcore.models.client_grants import SYSTEM_API_USER_GRANT_ERROR

MANAGEMENT_API = portcullis_settings.management_api_identifier
MY_ORGANIZATION_API = portcullis_settings.my_organization_api_identifier


@pytest.mark.django_db
def test_the_model_refuses_a_user_grant_on_the_management_api(make_app, make_grant):
    app, management = make_app(), ResourceServer.objects.get(identifier=MANAGEMENT_API)
    with pytest.raises(ValidationError) as excinfo:
        make_grant(management, client=app, subject_type=SubjectType.USER, scope=["read:clients"])
    assert excinfo.value.message_dict["subject_type"] == [SYSTEM_API_USER_GRANT_ERROR]
    assert make_grant(management, client=app, scope=["read:clients"]).subject_type == SubjectType.CLIENT


@pytest.mark.django_db
def test_a_first_party_app_may_have_a_user_grant_on_the_my_organization_api_a_third_party_app_never(
    make_app, make_grant
):
    my_org = ResourceServer.objects.get(identifier=MY_ORGANIZATION_API)
    console = make_app(name="Console")
    grant = make_grant(my_org, client=console, subject_type=SubjectType.USER, scope=["read:my_org:details"])
    assert (grant.subject_type, grant.scope) == (SubjectType.USER, ["read:my_org:details"])
    partner = make_app(name="Partner", is_first_party=False)
    with pytest.raises(ValidationError) as excinfo:
        make_grant(my_org, client=partner, subject_type=SubjectType.USER, scope=["read:my_org:details"])
    assert excinfo.value.message_dict["client"] == ["Third-party applications cannot be granted access to system APIs."]
    assert "subject_type" not in excinfo.value.message_dict


@pytest.mark.django_db
def test_the_admin_refuses_a_user_grant_on_the_management_api(admin_client, make_app):
    app = make_app()
    response = admin_client.post(
        reverse("admin:oauthcore_clientgrant_add"),
        {"client": app.pk, "resource_server": MANAGEMENT_API, "subject_type": "user", "scope": "read:clients"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["subject_type"] == [SYSTEM_API_USER_GRANT_ERROR]
    assert not ClientGrant.objects.filter(client=app).exists()


@pytest.mark.django_db
def test_the_admin_gives_a_first_party_app_a_user_grant_on_the_my_organization_api(admin_client, make_app):
    app = make_app()
    response = admin_client.post(
        reverse("admin:oauthcore_clientgrant_add"),
        {
            "client": app.pk,
            "resource_server": MY_ORGANIZATION_API,
            "subject_type": "user",
            "scope": "read:my_org:members",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    grant = ClientGrant.objects.get(client=app)
    assert (grant.audience, grant.subject_type, grant.scope) == (MY_ORGANIZATION_API, "user", ["read:my_org:members"])


@pytest.mark.django_db(transaction=True)
def test_migration_0012_removes_user_grants_on_system_apis_and_their_user_tokens(make_app, make_api, django_user_model):
    app, other_api = make_app(), make_api()
    user = django_user_model.objects.create_user(username="mallory", password=None)
    # As they could be created before the model refused them: written directly.
    user_grant, client_grant, elsewhere = ClientGrant.objects.bulk_create(
        [
            ClientGrant(client=app, resource_server_id=MANAGEMENT_API, subject_type="user", scope=["read:clients"]),
            ClientGrant(client=app, resource_server_id=MANAGEMENT_API, subject_type="client", scope=["read:clients"]),
            ClientGrant(client=app, resource_server_id=other_api.identifier, subject_type="user"),
        ]
    )
    expires = timezone.now() + timedelta(hours=1)
    users_token = AccessToken.objects.create(
        application=app, user=user, token="u", resource=[MANAGEMENT_API], expires=expires, scope="read:clients"
    )
    RefreshToken.objects.create(
        application=app, user=user, token="r", resource=[MANAGEMENT_API], access_token=users_token
    )
    apps_token = AccessToken.objects.create(
        application=app, token="c", resource=[MANAGEMENT_API], expires=expires, scope="read:clients"
    )

    executor = MigrationExecutor(connection)
    executor.migrate([("oauthcore", "0010_audit_without_lock")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert set(ClientGrant.objects.filter(client=app).values_list("pk", flat=True)) == {client_grant.pk, elsewhere.pk}
    assert list(AccessToken.objects.filter(application=app)) == [apps_token]
    assert not RefreshToken.objects.filter(application=app).exists()
    event = AuditEvent.objects.get(action="client_grant.delete", target_id=user_grant.pk)
    assert (event.actor_type, event.reason) == ("system", "system APIs accept only client-credentials tokens")
    assert event.data["client_id"] == app.client_id and event.data["audience"] == MANAGEMENT_API
    assert event.data["revoked"] == {"access_tokens": 1, "refresh_tokens": 1}
