"""Client grant invariants: one per client, API and subject type, one default per API, no default on a system API."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import DefaultFor, SubjectType
from oauthcore.exceptions import ConflictError
from oauthcore.models import AccessToken, ClientGrant, RefreshToken, ResourceServer
from oauthcore.services.client_grants import client_grant_delete, client_grant_update, client_grant_widen

pytestmark = pytest.mark.django_db

THIRD_PARTY = DefaultFor.THIRD_PARTY_CLIENTS
# PostgreSQL names the violated constraint; SQLite names its columns.
DUPLICATE_CLIENT_GRANT = r"cgr_one_per_client_audience_subject|clientgrant.client_id, oauthcore_clientgrant.audience"
DUPLICATE_DEFAULT_GRANT = (
    r"cgr_one_default_per_audience_subject|clientgrant.default_for, oauthcore_clientgrant.audience"
)


def management_api():
    return ResourceServer.objects.get(identifier=portcullis_settings.management_api_identifier)


def test_grant_ids_look_like_auth0(make_api, make_app, make_grant):
    grant = make_grant(make_api(), client=make_app(), scope=["read:things"])
    assert grant.id.startswith("cgr_") and len(grant.id) == 20
    assert grant.subject_type == SubjectType.CLIENT


def test_one_grant_per_client_audience_and_subject_type(make_api, make_app, make_grant):
    api, app = make_api(), make_app()
    make_grant(api, client=app, scope=["read:things"])
    make_grant(api, client=app, scope=["read:things"], subject_type=SubjectType.USER)  # the other subject type is fine
    with pytest.raises(ConflictError) as excinfo:
        make_grant(api, client=app, scope=["write:things"])
    assert excinfo.value.messages == ["A client grant for this application, API and subject type already exists."]
    assert ClientGrant.objects.filter(client=app).count() == 2


def test_database_refuses_a_second_grant_for_the_same_client_audience_subject(make_api, make_app, make_grant):
    api, app = make_api(), make_app()
    make_grant(api, client=app)
    with (
        pytest.raises(
            IntegrityError,
            match=DUPLICATE_CLIENT_GRANT,
        ),
        transaction.atomic(),
    ):
        ClientGrant.objects.bulk_create([ClientGrant(client=app, resource_server=api, subject_type="client")])


def test_one_default_per_audience_and_subject_type(make_api, make_grant):
    api = make_api()
    make_grant(api, default_for=THIRD_PARTY, scope=["read:things"], subject_type=SubjectType.USER)
    with pytest.raises(ConflictError) as excinfo:
        make_grant(api, default_for=THIRD_PARTY, scope=["write:things"], subject_type=SubjectType.USER)
    assert excinfo.value.messages == ["A default grant for this API and subject type already exists."]


def test_database_refuses_a_second_default(make_api, make_grant):
    api = make_api()
    make_grant(api, default_for=THIRD_PARTY)
    with (
        pytest.raises(
            IntegrityError,
            match=DUPLICATE_DEFAULT_GRANT,
        ),
        transaction.atomic(),
    ):
        ClientGrant.objects.bulk_create([ClientGrant(default_for=THIRD_PARTY, resource_server=api)])


def test_exactly_one_of_client_and_default_for(make_api, make_app, make_grant):
    api = make_api()
    for kwargs in ({}, {"client": make_app(), "default_for": THIRD_PARTY}):
        with pytest.raises(ValidationError) as excinfo:
            make_grant(api, **kwargs)
        assert excinfo.value.message_dict["__all__"] == ["A client grant has exactly one of client_id and default_for."]
    with pytest.raises(IntegrityError, match=r"cgr_client_xor_default_for"), transaction.atomic():
        ClientGrant.objects.bulk_create([ClientGrant(resource_server=api)])


def test_system_apis_take_no_default_grant(make_grant):
    with pytest.raises(ValidationError) as excinfo:
        make_grant(management_api(), default_for=THIRD_PARTY, scope=["read:clients"])
    assert excinfo.value.message_dict["default_for"] == [
        "System APIs do not take default grants for third-party applications."
    ]


def test_third_party_apps_get_no_grant_on_a_system_api(make_app, make_grant):
    with pytest.raises(ValidationError) as excinfo:
        make_grant(management_api(), client=make_app(is_first_party=False), scope=["read:clients"])
    assert excinfo.value.message_dict["client"] == ["Third-party applications cannot be granted access to system APIs."]


def test_first_party_apps_may_hold_a_management_api_grant(make_app, make_grant):
    grant = make_grant(management_api(), client=make_app(), scope=["read:clients"])
    assert grant.audience == portcullis_settings.management_api_identifier


def test_scopes_must_exist_on_the_api(make_api, make_app, make_grant):
    api = make_api(identifier="https://orders.example.com/")
    with pytest.raises(ValidationError) as excinfo:
        make_grant(api, client=make_app(), scope=["read:things", "delete:everything", "fly"])
    assert excinfo.value.message_dict["scope"] == [
        "Scopes not defined on https://orders.example.com/: delete:everything, fly."
    ]


def test_scope_and_allow_all_scopes_do_not_mix(make_api, make_app, make_grant):
    with pytest.raises(ValidationError) as excinfo:
        make_grant(make_api(), client=make_app(), scope=["read:things"], allow_all_scopes=True)
    assert excinfo.value.message_dict["scope"] == ["scope cannot be set together with allow_all_scopes."]


def test_third_party_apps_cannot_allow_any_organization(make_api, make_app, make_grant):
    with pytest.raises(ValidationError) as excinfo:
        make_grant(make_api(), client=make_app(is_first_party=False), allow_any_organization=True)
    assert excinfo.value.message_dict["allow_any_organization"] == [
        "allow_any_organization is not available to third-party applications."
    ]


def test_audience_and_subject_type_cannot_change(make_api, make_app, make_grant):
    grant = make_grant(make_api(), client=make_app())
    grant.subject_type = SubjectType.USER
    grant.resource_server = make_api()
    with pytest.raises(ValidationError) as excinfo:
        grant.save()
    assert excinfo.value.message_dict["subject_type"] == ["subject_type is set at creation and cannot be changed."]
    assert excinfo.value.message_dict["resource_server"] == [
        "resource_server is set at creation and cannot be changed."
    ]


def test_update_changes_scopes(make_api, make_app, make_grant, actor):
    grant = make_grant(make_api(), client=make_app(), scope=["read:things"])
    client_grant_update(actor=actor, grant=grant, scope=["read:things", "write:things"])
    grant.refresh_from_db()
    assert grant.scope == ["read:things", "write:things"]


def test_widen_creates_then_adds_without_repeating(make_api, make_app, actor):
    api, app = make_api(), make_app(is_first_party=False)
    first = client_grant_widen(
        actor=actor, client=app, audience=api.identifier, subject_type="user", scope=["read:things"]
    )
    second = client_grant_widen(
        actor=actor, client=app, audience=api.identifier, subject_type="user", scope=["read:things", "write:things"]
    )
    assert first.pk == second.pk
    assert ClientGrant.objects.get(pk=first.pk).scope == ["read:things", "write:things"]


def _token(app, api, user=None, n=0):
    access = AccessToken.objects.create(
        token=f"at-{app.pk}-{n}-{user and user.pk}",
        application=app,
        user=user,
        resource=[api.identifier],
        expires=timezone.now() + timedelta(hours=1),
        scope="read:things",
    )
    refresh = None
    if user is not None:
        refresh = RefreshToken.objects.create(
            token=f"rt-{app.pk}-{n}", application=app, user=user, access_token=access, resource=[api.identifier]
        )
    return access, refresh


def test_deleting_a_grant_revokes_its_tokens_at_once(make_api, make_app, make_grant, actor, django_user_model):
    api, other_api = make_api(), make_api()
    app = make_app(is_first_party=False)
    user = django_user_model.objects.create_user(username="u1", password="pw-long-enough-1")
    grant = make_grant(api, client=app, scope=["read:things"], subject_type=SubjectType.USER)
    access, refresh = _token(app, api, user)
    kept_access, kept_refresh = _token(app, other_api, user, n=1)
    client_grant_delete(actor=actor, grant=grant)
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert AccessToken.objects.filter(pk=kept_access.pk).exists()
    kept_refresh.refresh_from_db()
    assert kept_refresh.revoked is None


def test_deleting_a_default_grant_revokes_only_apps_that_relied_on_it(
    make_api, make_app, make_grant, actor, django_user_model
):
    api = make_api()
    user = django_user_model.objects.create_user(username="u2", password="pw-long-enough-2")
    relying, own = make_app(is_first_party=False, name="relying"), make_app(is_first_party=False, name="own")
    default = make_grant(api, default_for=THIRD_PARTY, scope=["read:things"], subject_type=SubjectType.USER)
    make_grant(api, client=own, scope=["read:things"], subject_type=SubjectType.USER)
    relying_access, _ = _token(relying, api, user)
    own_access, _ = _token(own, api, user, n=1)
    client_grant_delete(actor=actor, grant=default)
    assert not AccessToken.objects.filter(pk=relying_access.pk).exists()
    assert AccessToken.objects.filter(pk=own_access.pk).exists()


def test_database_refuses_moving_a_grant_to_another_audience_or_subject(make_api, make_app, make_grant):
    grant = make_grant(make_api(), client=make_app())
    other = make_api()
    for change, column in (({"resource_server": other}, "audience"), ({"subject_type": "user"}, "subject_type")):
        with (
            pytest.raises(IntegrityError, match=rf"{column} is set at creation and cannot be changed."),
            transaction.atomic(),
        ):
            ClientGrant.objects.filter(pk=grant.pk).update(**change)
