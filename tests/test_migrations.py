"""A database filled at the schema before the partner link moved to the partner app migrates to
today's schema with every row, and every value, where it was.

The rows are written through the historical models of that schema (not the services of today's
code, which no longer fit it), into every table of oauthcore, consent and portal. The database is
left at the latest migrations, as the rest of the suite expects it.
"""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from oauthcore.models import Application
from portal.partners.models import PartnerApplication

pytestmark = pytest.mark.django_db(transaction=True)

APPS = ("oauthcore", "consent", "portal")
BEFORE = [("oauthcore", "0008_policy_version"), ("portal", "0003_portal_self_service"), ("consent", "0002_initial")]
# What the move takes away: the application's own partner column (its rows live on in PartnerApplication).
DROPPED_COLUMNS = {"oauthcore_application": {"partner_id"}}
# What later migrations add, with the value every old row gets (no partner here is suspended).
# Columns added since, with the value each old row gets: no user's address was proved by a
# confirmed link or an accepted invitation in this data set, so none is vouched for.
ADDED_COLUMNS = {
    "oauthcore_application": {
        "suspended": False,
        "organization_usage": "deny",
        "organization_require_behavior": "no_prompt",
    },
    "oauthcore_user": {"email_verified": False, "federated_profile": "{}"},
    "consent_usergrant": {"organization_id": None},
    "oauthcore_accesstoken": {"organization_id": None},
    "oauthcore_refreshtoken": {"organization_id": None, "amr": ""},
    "oauthcore_grant": {"organization_id": None, "amr": ""},
    "oauthcore_tenantsettings": {"allow_organization_name_in_authentication_api": False, "mfa_policy": "optional"},
    "oauthcore_connection": {"options": "{}", "sealed_secrets": "", "show_as_button": True, "is_enabled": True},
    "portal_outboundemail": {"from_email": ""},
}
# Not a real digest: a value Django recognises as hashed, so that saving it costs no hashing.
HASHED_SECRET = "pbkdf2_sha256$1000000$migration$c2VjcmV0"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def tables(apps) -> list[str]:
    return sorted(
        model._meta.db_table for model in apps.get_models(include_auto_created=True) if model._meta.app_label in APPS
    )


def rows(table: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a table name we listed
        names = [column[0] for column in cursor.description]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return sorted(found, key=repr)


def fill(apps) -> dict:
    """At least one row in every table, with the relations a real tenant has."""

    def model(label):
        return apps.get_model(*label.split("."))

    now = timezone.now().replace(microsecond=0)
    connection_row = model("oauthcore.Connection").objects.create(name="migration-db", display_name="Migration DB")
    user = model("oauthcore.User").objects.create(
        username="mig-owner", email="owner@migration.example", password="!", connection=connection_row, uid="u_mig1"
    )
    user.groups.add(model("auth.Group").objects.create(name="migration reviewers"))
    user.user_permissions.add(model("auth.Permission").objects.first())
    partner = model("portal.Partner").objects.create(
        name="Migration Partners", website="https://partners.migration.example", email_verified_at=now
    )
    other_partner = model("portal.Partner").objects.create(name="Second Partners", status="pending")
    Application = model("oauthcore.Application")
    common = {"client_secret": HASHED_SECRET, "hash_client_secret": True, "client_type": "confidential"}
    first_party = Application.objects.create(
        client_id="first-party-migration-app",
        name="Tenant web",
        redirect_uris="https://tenant.migration.example/callback",
        authorization_grant_type="authorization-code",
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="client_secret_post",
        **common,
    )
    owned = Application.objects.create(
        client_id="tpc_Migration0000000000001",
        name="Partner sync",
        is_first_party=False,
        third_party_security_mode="strict",
        created_via="portal",
        partner=partner,
        redirect_uris="https://partner.migration.example/callback",
        authorization_grant_type="authorization-code",
        grant_types=["authorization_code"],
        token_endpoint_auth_method="client_secret_post",
        client_secret_hint="cret",
        **common,
    )
    second_owned = Application.objects.create(
        client_id="tpc_Migration0000000000002",
        name="Second partner's robot",
        app_type="non_interactive",
        is_first_party=False,
        third_party_security_mode="strict",
        created_via="admin",
        partner=other_partner,
        authorization_grant_type="client-credentials",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
        **common,
    )
    connection_row.enabled_clients.add(first_party, owned)
    api = model("oauthcore.ResourceServer").objects.create(
        identifier="https://api.migration.example/", name="Migration API"
    )
    model("oauthcore.ResourceServerScope").objects.create(
        resource_server=api, value="read:things", description="Read things"
    )
    model("oauthcore.ClientGrant").objects.create(
        client=owned, resource_server=api, subject_type="user", scope=["read:things"]
    )
    model("oauthcore.ClientGrant").objects.create(
        default_for="third_party_clients", resource_server=api, subject_type="user"
    )
    model("consent.UserGrant").objects.create(user=user, client=owned, audience=api.identifier, scope=["read:things"])
    expires = now + timedelta(hours=1)
    model("oauthcore.Grant").objects.create(
        application=owned,
        user=user,
        code="migration-code",
        expires=expires,
        redirect_uri="https://partner.migration.example/callback",
        scope="read:things",
        audience=api.identifier,
    )
    id_token = model("oauthcore.IDToken").objects.create(
        application=first_party, user=user, jti=uuid4(), expires=expires, scope="openid"
    )
    family = uuid4()
    access = model("oauthcore.AccessToken").objects.create(
        application=owned,
        user=user,
        token="migration-access-token",
        expires=expires,
        scope="read:things",
        audience=api.identifier,
        token_family=family,
    )
    model("oauthcore.AccessToken").objects.create(
        application=first_party, user=user, token="migration-id-access", expires=expires, id_token=id_token
    )
    model("oauthcore.RefreshToken").objects.create(
        application=owned,
        user=user,
        token="migration-refresh-token",
        access_token=access,
        token_family=family,
        audience=api.identifier,
    )
    model("oauthcore.DeviceGrant").objects.create(
        client_id=first_party.client_id,
        device_code="migration-device-code",
        user_code="MIGR-ATE1",
        expires=expires,
        scope="read:things",
        audience=api.identifier,
    )
    model("oauthcore.PreviousClientSecret").objects.create(
        application=owned, secret=HASHED_SECRET, hint="old1", expires_at=expires
    )
    model("oauthcore.SigningKey").objects.create(
        kid="migration-key", encrypted_private_key="ciphertext", public_jwk={"kty": "RSA", "kid": "migration-key"}
    )
    model("oauthcore.TenantSettings").objects.update_or_create(
        id=1, defaults={"friendly_name": "Migration tenant", "support_email": "help@migration.example"}
    )
    model("oauthcore.PolicyVersion").objects.update_or_create(id=1, defaults={"stamp": "migration-stamp"})
    model("oauthcore.AuditChainHead").objects.get_or_create()
    model("oauthcore.AuditEvent").objects.create(
        action="client.create",
        actor_type="system",
        actor_label="migration",
        target_type="oauthcore.application",
        target_id=str(owned.pk),
        data={"client_id": owned.client_id},
        entry_hash="a" * 64,
        previous_hash="0" * 64,
        sequence=10_000,
    )
    model("portal.PartnerMembership").objects.create(partner=partner, user=user, role="owner")
    model("portal.AccessRequest").objects.create(
        partner=partner,
        client=owned,
        resource_server=api,
        subject_type="user",
        scope=["read:things"],
        justification="To sync orders.",
        requested_by=user,
    )
    model("portal.Invitation").objects.create(
        partner=partner, email="dev@migration.example", token_digest="b" * 64, invited_by=user, expires_at=expires
    )
    model("portal.OutboundEmail").objects.create(
        kind="partner.invitation", to=["dev@migration.example"], subject="Join", body="a link", message_id="<m@mig>"
    )
    return {
        "owned": {owned.pk: partner.pk, second_owned.pk: other_partner.pk},
        "first_party": first_party.pk,
        "created": {owned.pk: owned.created, second_owned.pk: second_owned.created},
    }


def assert_creation_time_fields_refused(application_pk: int) -> None:
    """The database itself still refuses to change a field fixed at creation (its triggers)."""
    with pytest.raises(IntegrityError, match="is_first_party is set at creation"), transaction.atomic():
        Application.objects.filter(pk=application_pk).update(is_first_party=False)


def test_a_database_at_the_old_schema_migrates_with_every_row():
    old_apps = migrate(BEFORE)
    try:
        made = fill(old_apps)
        old_tables = tables(old_apps)
        before = {table: rows(table) for table in old_tables}
        assert [table for table, found in before.items() if not found] == []  # every table holds a row

        migrate(latest())

        for table in old_tables:
            dropped = DROPPED_COLUMNS.get(table, set())
            added = ADDED_COLUMNS.get(table, {})
            expected = sorted(
                ({k: v for k, v in row.items() if k not in dropped} | added for row in before[table]), key=repr
            )
            assert rows(table) == expected, table

        links = PartnerApplication.objects.values_list("application_id", "partner_id", "created_at")
        assert {app: partner for app, partner, _ in links} == made["owned"]
        assert {app: created for app, _, created in links} == made["created"]
        for application_id, partner_id in made["owned"].items():
            assert list(Application.objects.filter(partner=partner_id).values_list("pk", flat=True)) == [application_id]
            assert Application.objects.get(pk=application_id).partner_link.partner_id == partner_id
        first_party = Application.objects.get(pk=made["first_party"])
        assert not PartnerApplication.objects.filter(application=first_party).exists()
        assert not Application.objects.filter(pk=first_party.pk, partner__isnull=False).exists()
        assert_creation_time_fields_refused(first_party.pk)  # the table's triggers survived its rebuild

        # And back: the old column holds each owner again, and the first-party app has none.
        migrate(BEFORE)
        assert {row["id"]: row["partner_id"] for row in rows("oauthcore_application")} == {
            **made["owned"],
            made["first_party"]: None,
        }
    finally:
        migrate(latest())
    assert_creation_time_fields_refused(made["first_party"])  # there and back again
    assert {row["application_id"]: row["partner_id"] for row in rows("portal_partnerapplication")} == made["owned"]
