"""Users belong to one connection; connections and tenant settings keep their rules."""

import re

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.models import AuditEvent, Connection, TenantSettings
from oauthcore.services.connections import (
    connection_create,
    connection_delete,
    connection_set_domain_level,
    connection_update,
)
from oauthcore.services.tenant import tenant_settings_update

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_every_user_belongs_to_the_database_connection_by_default(django_user_model):
    user = django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)
    assert user.connection.name == "Username-Password-Authentication"
    assert re.fullmatch(r"auth0\|[0-9a-f]{24}", user.user_id)


def test_email_is_unique_per_connection_whatever_its_case(django_user_model):
    """Once verified: until then an address is only claimed (the portal's sign-ups)."""
    django_user_model.objects.create_user(
        username="alice", email="Alice@Example.com", password=PASSWORD, email_verified=True
    )
    django_user_model.objects.create_user(username="claim", email="alice@example.com", password=PASSWORD)
    with pytest.raises(IntegrityError, match=r"user_unique_verified_email_per_connection"), transaction.atomic():
        django_user_model.objects.create_user(
            username="alice2", email="alice@example.com", password=PASSWORD, email_verified=True
        )


def test_users_without_email_do_not_collide(django_user_model):
    django_user_model.objects.create_user(username="a", password=PASSWORD)
    django_user_model.objects.create_user(username="b", password=PASSWORD)
    assert django_user_model.objects.filter(email="").count() == 2


def test_login_with_username_or_email(django_user_model):
    user = django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)
    assert authenticate(username="alice", password=PASSWORD) == user
    assert authenticate(username="ALICE@example.com", password=PASSWORD) == user
    assert authenticate(username="alice", password="wrong password") is None
    assert authenticate(username="nobody", password=PASSWORD) is None


def test_a_connection_with_users_cannot_be_deleted(django_user_model, actor):
    connection = connection_create(actor=actor, name="partners-db")
    django_user_model.objects.create_user(username="p", password=PASSWORD, connection=connection)
    with pytest.raises(IntegrityError), transaction.atomic():
        Connection.objects.filter(pk=connection.pk).delete()


def test_connection_names_follow_auth0(actor):
    with pytest.raises(ValidationError) as excinfo:
        connection_create(actor=actor, name="bad name!")
    assert excinfo.value.message_dict["name"] == [
        "Use letters, digits and single hyphens, starting and ending with a letter or digit."
    ]


def test_connection_name_cannot_change(actor):
    connection = connection_create(actor=actor, name="partners-db")
    assert connection.id.startswith("con_")
    with pytest.raises(ValidationError) as excinfo:
        connection_update(actor=actor, connection=connection, name="renamed")
    assert excinfo.value.message_dict["name"] == ["name is set at creation and cannot be changed."]


def test_promote_and_demote_are_audited(actor):
    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    assert Connection.objects.get(pk=connection.pk).is_domain_connection
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=False)
    assert not Connection.objects.get(pk=connection.pk).is_domain_connection
    actions = list(AuditEvent.objects.filter(target_id=connection.pk).values_list("action", flat=True))
    assert sorted(actions) == ["connection.demote", "connection.promote"]


def test_tenant_settings_is_one_row():
    with pytest.raises(IntegrityError, match=r"tenant_settings_singleton"), transaction.atomic():
        TenantSettings.objects.create(id=2)


def test_default_audience_must_be_a_known_api(actor, make_api):
    with pytest.raises(ValidationError) as excinfo:
        tenant_settings_update(actor=actor, default_audience="https://nowhere.example.com/")
    assert excinfo.value.message_dict["default_audience"] == ["Service not found: https://nowhere.example.com/"]
    api = make_api()
    tenant_settings_update(actor=actor, default_audience=api.identifier, enable_dynamic_client_registration=True)
    settings = TenantSettings.load()
    assert settings.default_audience == api.identifier
    assert settings.enable_dynamic_client_registration


def test_a_users_connection_and_id_are_fixed(django_user_model, actor):
    user = django_user_model.objects.create_user(username="fixed", password=PASSWORD)
    user.connection = connection_create(actor=actor, name="elsewhere")
    with pytest.raises(ValidationError) as excinfo:
        user.save()
    assert excinfo.value.message_dict["connection"] == ["connection is set at creation and cannot be changed."]
    with pytest.raises(IntegrityError, match=r"uid is set at creation and cannot be changed."), transaction.atomic():
        django_user_model.objects.filter(pk=user.pk).update(uid="0" * 24)


def test_logging_in_does_not_reread_the_user(django_user_model, django_assert_num_queries):
    user = django_user_model.objects.create_user(username="quick", password=PASSWORD)
    with django_assert_num_queries(1):  # the UPDATE of last_login, no immutability check
        user.save(update_fields=["last_login"])


def test_a_connection_with_users_is_not_deleted(django_user_model, actor):
    connection = connection_create(actor=actor, name="partners-db2")
    django_user_model.objects.create_user(username="member", password=PASSWORD, connection=connection)
    with pytest.raises(ValidationError) as excinfo:
        connection_delete(actor=actor, connection=connection)
    assert excinfo.value.messages == ["This connection still has users; it cannot be deleted."]
    with pytest.raises(ValidationError) as excinfo:
        connection_delete(actor=actor, connection=Connection.objects.get(name="Username-Password-Authentication"))
    assert excinfo.value.messages == ["The database connection cannot be deleted."]
