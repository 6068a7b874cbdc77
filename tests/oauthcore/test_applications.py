"""Application invariants: each rule refused with its message, wherever the data comes from."""

import re

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.constants import AppType, CreatedVia, GrantType, RedirectionPolicy, SecurityMode
from oauthcore.models import Application, AuditEvent
from oauthcore.services.applications import application_create, application_rotate_secret, application_update

pytestmark = pytest.mark.django_db

DEVICE = GrantType.DEVICE_CODE.value


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def third_party(make_app, **fields):
    return make_app(is_first_party=False, **fields)


# -- ownership and security mode are fixed at creation ------------------------------------------


def test_is_first_party_cannot_change(make_app, actor):
    app = make_app()
    with pytest.raises(ValidationError) as excinfo:
        application_update(actor=actor, application=app, is_first_party=False)
    assert errors_of(excinfo)["is_first_party"] == ["is_first_party is set at creation and cannot be changed."]
    app.refresh_from_db()
    assert app.is_first_party is True


def test_third_party_security_mode_cannot_change(make_app, actor):
    app = third_party(make_app)
    assert app.third_party_security_mode == SecurityMode.STRICT
    with pytest.raises(ValidationError) as excinfo:
        application_update(actor=actor, application=app, third_party_security_mode=SecurityMode.PERMISSIVE)
    assert errors_of(excinfo)["third_party_security_mode"] == [
        "third_party_security_mode is set at creation and cannot be changed."
    ]
    app.refresh_from_db()
    assert app.third_party_security_mode == SecurityMode.STRICT


def test_sending_the_same_immutable_values_again_is_fine(make_app, actor):
    app = third_party(make_app)
    application_update(
        actor=actor, application=app, is_first_party=False, third_party_security_mode="strict", name="Renamed"
    )
    app.refresh_from_db()
    assert app.name == "Renamed"


def test_immutable_fields_are_refused_on_a_plain_model_save_too(make_app):
    app = make_app()
    app.is_first_party = False
    app.third_party_security_mode = SecurityMode.STRICT
    with pytest.raises(ValidationError) as excinfo:
        app.save()
    assert "is_first_party is set at creation and cannot be changed." in errors_of(excinfo)["is_first_party"]


def test_first_party_apps_have_no_security_mode(make_app):
    with pytest.raises(ValidationError) as excinfo:
        make_app(third_party_security_mode=SecurityMode.STRICT)
    assert errors_of(excinfo)["third_party_security_mode"] == ["Only third-party applications have a security mode."]


def insert_raw(**fields):
    """Write a row the way a bulk load or raw SQL would: no model validation, only the database's rules."""
    values = dict(
        name="raw",
        client_id="R" * 32,
        client_type="confidential",
        authorization_grant_type="authorization-code",
        client_secret="portcullis_client_secret$salt$digest",
        token_endpoint_auth_method="client_secret_post",
    )
    values.update(fields)
    with transaction.atomic():
        Application.objects.bulk_create([Application(**values)])


def test_database_refuses_a_security_mode_on_a_first_party_app():
    with pytest.raises(IntegrityError, match=r"app_security_mode_matches_party"):
        insert_raw(is_first_party=True, third_party_security_mode=SecurityMode.PERMISSIVE)


# -- client ids ---------------------------------------------------------------------------------


def test_strict_third_party_apps_get_tpc_client_ids(make_app):
    app = third_party(make_app)
    assert re.fullmatch(r"tpc_[A-Za-z0-9]{22}", app.client_id)


def test_other_apps_get_32_character_client_ids_without_the_prefix(make_app):
    first_party = make_app()
    permissive = third_party(make_app, third_party_security_mode=SecurityMode.PERMISSIVE)
    for app in (first_party, permissive):
        assert re.fullmatch(r"[A-Za-z0-9]{32}", app.client_id)


def test_database_refuses_a_strict_app_without_tpc_id():
    with pytest.raises(IntegrityError, match=r"app_strict_client_id_format"):
        insert_raw(is_first_party=False, third_party_security_mode=SecurityMode.STRICT, client_id="A" * 32)


def test_database_reserves_the_tpc_prefix_for_strict_apps():
    with pytest.raises(IntegrityError, match=r"app_tpc_prefix_reserved"):
        insert_raw(is_first_party=True, client_id="tpc_" + "a" * 22)


def test_client_id_cannot_change(make_app):
    app = make_app()
    app.client_id = "B" * 32
    with pytest.raises(ValidationError) as excinfo:
        app.save()
    assert errors_of(excinfo)["client_id"] == ["client_id is set at creation and cannot be changed."]


# -- types and grant types ----------------------------------------------------------------------


def test_strict_apps_take_only_the_four_app_types(make_app):
    with pytest.raises(ValidationError) as excinfo:
        third_party(make_app, app_type="sso_integration")
    assert any("Must be one of: regular_web, spa, native, non_interactive" in m for m in errors_of(excinfo)["app_type"])


def test_database_refuses_an_unknown_app_type(make_app):
    app = third_party(make_app)
    with pytest.raises(IntegrityError, match=r"app_type_valid"), transaction.atomic():
        Application.objects.filter(pk=app.pk).update(app_type="resource_server")


@pytest.mark.parametrize("grant_type", ["implicit", "password"])
def test_nobody_gets_implicit_or_password(make_app, grant_type):
    with pytest.raises(ValidationError) as excinfo:
        make_app(grant_types=[GrantType.AUTHORIZATION_CODE, grant_type])
    assert errors_of(excinfo)["grant_types"] == [f"Unsupported grant types: {grant_type}."]


def test_strict_apps_cannot_use_the_device_grant(make_app):
    with pytest.raises(ValidationError) as excinfo:
        third_party(make_app, grant_types=[GrantType.AUTHORIZATION_CODE, DEVICE])
    assert errors_of(excinfo)["grant_types"] == [f"Strict third-party applications cannot use: {DEVICE}."]


def test_permissive_and_first_party_apps_may_use_the_device_grant(make_app):
    assert DEVICE in make_app(app_type=AppType.NATIVE, grant_types=[DEVICE]).grant_types
    permissive = third_party(
        make_app, app_type=AppType.NATIVE, third_party_security_mode=SecurityMode.PERMISSIVE, grant_types=[DEVICE]
    )
    assert permissive.grant_types == [DEVICE]


def test_client_credentials_needs_a_confidential_client(make_app):
    with pytest.raises(ValidationError) as excinfo:
        third_party(make_app, app_type=AppType.SPA, grant_types=[GrantType.CLIENT_CREDENTIALS])
    assert errors_of(excinfo)["grant_types"] == [
        "client_credentials needs a confidential client (token_endpoint_auth_method other than none)."
    ]


def test_client_credentials_is_refused_to_dynamically_registered_apps(actor):
    with pytest.raises(ValidationError) as excinfo:
        application_create(
            actor=actor,
            name="Agent",
            app_type=AppType.REGULAR_WEB,
            is_first_party=False,
            created_via=CreatedVia.DYNAMIC,
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            callbacks=["https://agent.example.com/cb"],
        )
    assert errors_of(excinfo)["grant_types"] == [
        "client_credentials is not available to dynamically registered applications."
    ]


def test_strict_m2m_app_with_client_credentials_is_fine(make_app):
    app = third_party(make_app, app_type=AppType.NON_INTERACTIVE, callbacks=[])
    assert app.grant_types == [GrantType.CLIENT_CREDENTIALS]
    assert app.allows_grant_type("client-credentials") and not app.allows_grant_type("authorization-code")


def test_creation_defaults_follow_auth0(make_app):
    strict = third_party(make_app, app_type=AppType.SPA)
    assert strict.grant_types == [GrantType.AUTHORIZATION_CODE]
    assert strict.token_endpoint_auth_method == "none"
    assert strict.redirection_policy == RedirectionPolicy.OPEN_REDIRECT_PROTECTION
    assert strict.client_type == Application.CLIENT_PUBLIC
    first = make_app()
    assert first.grant_types == [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN]
    assert first.token_endpoint_auth_method == "client_secret_post"
    assert first.redirection_policy == RedirectionPolicy.ALLOW_ALWAYS


# -- callbacks and origins ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://*.example.com/cb",
            "'https://*.example.com/cb': wildcards are not allowed; callback URLs must be exact.",
        ),
        (
            "http://app.example.com/cb",
            "'http://app.example.com/cb': third-party applications must use https (http only for localhost).",
        ),
        ("https://app.example.com/cb#x", "'https://app.example.com/cb#x' must not contain a fragment."),
        ("/relative/cb", "'/relative/cb' is not an absolute URL."),
    ],
)
def test_strict_callbacks_must_be_exact_https_urls(make_app, url, message):
    with pytest.raises(ValidationError) as excinfo:
        third_party(make_app, callbacks=[url])
    assert errors_of(excinfo)["redirect_uris"] == [message]


def test_loopback_http_callbacks_are_fine_for_strict_apps(make_app):
    app = third_party(make_app, callbacks=["http://127.0.0.1:8080/cb", "http://localhost/cb"])
    assert app.callbacks == ["http://127.0.0.1:8080/cb", "http://localhost/cb"]


def test_native_apps_may_use_a_private_use_scheme(make_app):
    app = third_party(make_app, app_type=AppType.NATIVE, callbacks=["com.example.app:/oauth/cb"])
    assert app.callbacks == ["com.example.app:/oauth/cb"]
    with pytest.raises(ValidationError) as excinfo:
        third_party(make_app, app_type=AppType.SPA, callbacks=["com.example.app:/oauth/cb"])
    assert errors_of(excinfo)["redirect_uris"] == [
        "'com.example.app:/oauth/cb': only native applications may use a custom URL scheme."
    ]


def test_origins_must_be_exact(make_app):
    with pytest.raises(ValidationError) as excinfo:
        make_app(web_origins=["https://*.example.com"])
    assert errors_of(excinfo)["web_origins"] == [
        "'https://*.example.com': wildcards are not allowed; origins must be exact."
    ]


# -- secrets ------------------------------------------------------------------------------------


def test_secret_is_random_enough_and_stored_only_as_a_fast_digest(actor):
    issued = application_create(actor=actor, name="M2M", app_type=AppType.NON_INTERACTIVE)
    app = Application.objects.get(pk=issued.application.pk)
    assert len(issued.client_secret) >= 43  # 43 URL-safe characters carry 256 bits
    assert issued.client_secret not in app.client_secret
    assert identify_hasher(app.client_secret).algorithm == "portcullis_client_secret"
    assert check_password(issued.client_secret, app.client_secret)
    assert not check_password(issued.client_secret + "x", app.client_secret)
    assert app.client_secret_hint == issued.client_secret[-4:]


def test_secrets_differ_between_apps(actor):
    secrets = {application_create(actor=actor, name=f"A{i}", app_type="regular_web").client_secret for i in range(5)}
    assert len(secrets) == 5


def test_user_passwords_keep_the_slow_default_hasher(django_user_model):
    user = django_user_model.objects.create_user(username="alice", password="a long passphrase 1")
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"


def test_rotation_replaces_the_secret(make_app, actor):
    app = make_app()
    old_digest = app.client_secret
    new_secret = application_rotate_secret(actor=actor, application=app)
    app.refresh_from_db()
    assert app.client_secret != old_digest
    assert check_password(new_secret, app.client_secret)
    assert app.client_secret_hint == new_secret[-4:]
    assert AuditEvent.objects.filter(action="client.rotate_secret", target_id=str(app.pk)).exists()


def test_database_refuses_unhashed_secret_storage(make_app):
    app = make_app()
    with pytest.raises(IntegrityError, match=r"app_secret_always_hashed"), transaction.atomic():
        Application.objects.filter(pk=app.pk).update(hash_client_secret=False)


# -- audit --------------------------------------------------------------------------------------


def test_every_write_is_audited_with_its_actor(make_app, actor):
    app = make_app(name="Audited")
    application_update(actor=actor, application=app, description="Now described")
    events = list(AuditEvent.objects.filter(target_id=str(app.pk)).order_by("id").values_list("action", "actor_label"))
    assert events == [("client.create", "tests"), ("client.update", "tests")]


def test_a_refused_write_leaves_no_audit_row(make_app, actor):
    app = make_app()
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        application_update(actor=actor, application=app, grant_types=["password"])
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("is_first_party", False), ("third_party_security_mode", "permissive"), ("created_via", "dynamic")],
)
def test_database_refuses_changing_a_creation_time_field(make_app, field, value):
    app = make_app() if field != "third_party_security_mode" else third_party(make_app)
    with (
        pytest.raises(IntegrityError, match=rf"{field} is set at creation and cannot be changed."),
        transaction.atomic(),
    ):
        Application.objects.filter(pk=app.pk).update(**{field: value})
