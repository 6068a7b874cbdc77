"""``manage.py seed_demo``: the demo tenant, built through the services, and safe to run twice."""

import base64
import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, CreatedVia, SubjectType, UserPolicy
from oauthcore.models import (
    Application,
    AuditEvent,
    ClientGrant,
    Connection,
    Organization,
    OrganizationConnection,
    OrganizationMember,
    ResourceServer,
    ResourceServerScope,
)
from portal.partners.models import Partner, PartnerMembership, Role

ORDERS = "https://api.demo.portcullis.test/orders/"
CATALOG = "https://api.demo.portcullis.test/catalog/"
CREDENTIALS_RE = re.compile(r"^\s+client_id:\s+(\S+)\n\s+client_secret:\s+(\S+)$", re.MULTILINE)

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials_file(tmp_path):
    return tmp_path / "demo-credentials.env"


@pytest.fixture
def seed(credentials_file):
    """Run the command; its credentials file goes to a temporary folder, never next to the code."""

    def run(**options) -> str:
        out = StringIO()
        call_command("seed_demo", stdout=out, credentials_file=credentials_file, **options)
        return out.getvalue()

    return run


def counts() -> dict[str, int]:
    models = [
        get_user_model(),
        ResourceServer,
        ResourceServerScope,
        Application,
        ClientGrant,
        Partner,
        PartnerMembership,
        Organization,
        OrganizationMember,
        OrganizationConnection,
        AuditEvent,
    ]
    counted = {model._meta.label: model.objects.count() for model in models}
    counted["enabled connections"] = Connection.enabled_clients.through.objects.count()
    return counted


def test_seed_demo_builds_the_demo_tenant(seed):
    output = seed(force=True)

    orders = ResourceServer.objects.get(identifier=ORDERS)
    assert orders.name == "Orders API"
    assert orders.user_policy == UserPolicy.REQUIRE_CLIENT_GRANT
    assert orders.allow_offline_access is True
    assert set(orders.scopes.values_list("value", flat=True)) == {"read:orders", "write:orders"}
    catalog = ResourceServer.objects.get(identifier=CATALOG)
    assert catalog.user_policy == UserPolicy.ALLOW_ALL
    assert list(catalog.scopes.values_list("value", flat=True)) == ["read:catalog"]

    assert Connection.objects.get(name=DATABASE_CONNECTION_NAME).is_domain_connection is True

    partner = Partner.objects.get(name="Acme Partners")
    third_party = Application.objects.get(partner=partner)
    assert third_party.is_strict_third_party
    assert third_party.client_id.startswith("tpc_")
    assert third_party.created_via == CreatedVia.PORTAL
    assert third_party.app_type == AppType.REGULAR_WEB
    assert third_party.grant_types == ["authorization_code", "refresh_token"]
    assert "https://oauth.pstmn.io/v1/callback" in third_party.callbacks

    web = Application.objects.get(name="Portcullis Demo Web")
    assert web.is_first_party and web.app_type == AppType.REGULAR_WEB
    m2m = Application.objects.get(app_type=AppType.NON_INTERACTIVE)
    assert m2m.is_first_party and m2m.grant_types == ["client_credentials"]

    default = ClientGrant.objects.get(default_for="third_party_clients")
    assert (default.audience, default.subject_type, default.scope) == (CATALOG, SubjectType.USER, ["read:catalog"])
    grant = ClientGrant.objects.get(client=third_party)
    assert (grant.audience, grant.subject_type, grant.scope) == (ORDERS, SubjectType.USER, ["read:orders"])
    grant = ClientGrant.objects.get(client=m2m)
    assert (grant.audience, grant.subject_type) == (ORDERS, SubjectType.CLIENT)

    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password("admin-demo-password")
    alice = User.objects.get(username="alice")
    assert not alice.is_staff and alice.check_password("alice-demo-password")
    member = PartnerMembership.objects.get(partner=partner)
    assert (member.user.username, member.role) == ("acme-dev", Role.OWNER)

    # A customer organization that lets the partner's app (which may name one) reach alice.
    globex = Organization.objects.get(name="globex")
    assert (globex.display_name, globex.third_party_client_access) == ("Globex Corporation", "allow")
    assert list(globex.memberships.values_list("user__username", flat=True)) == ["alice"]
    assert list(globex.enabled_connections.values_list("connection__name", flat=True)) == [DATABASE_CONNECTION_NAME]
    assert third_party.organization_usage == "allow"
    assert "&organization=globex" in output

    # Every write went through the services, so every one of them is in the audit log.
    assert AuditEvent.objects.filter(actor_label="seed_demo").count() >= 10

    assert "http://127.0.0.1:8000/admin/" in output
    assert "partner portal at http://127.0.0.1:8000/portal/" in output
    for username in ("admin", "alice", "acme-dev"):
        assert f"username {username}" in output
    issued = dict(CREDENTIALS_RE.findall(output))
    assert set(issued) == {web.client_id, third_party.client_id, m2m.client_id}
    for app in (web, third_party, m2m):
        assert issued[app.client_id] != app.client_secret  # stored hashed, printed in clear
        assert check_password(issued[app.client_id], app.client_secret)


def test_seed_demo_twice_changes_nothing(seed):
    first = seed(force=True)
    before = counts()
    secrets_at_rest = dict(Application.objects.values_list("client_id", "client_secret"))

    second = seed(force=True)

    assert counts() == before
    assert dict(Application.objects.values_list("client_id", "client_secret")) == secrets_at_rest
    assert "nothing to create" in second
    assert "http://127.0.0.1:8000/admin/" in second and "username admin" in second
    # Client ids are repeated; secrets are not (they cannot be: only their hashes are stored).
    for client_id in secrets_at_rest:
        assert client_id in second
    assert CREDENTIALS_RE.findall(second) == []
    assert "Rotate it in the admin" in second
    assert first != second


def test_seed_demo_refuses_to_run_without_debug(settings, seed):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not ResourceServer.objects.filter(identifier=ORDERS).exists()


def test_seed_demo_runs_without_force_in_debug(settings, seed):
    settings.DEBUG = True
    assert "Demo tenant seeded" in seed()


def test_seed_demo_login_url_follows_the_issuer(settings, seed):
    settings.ISSUER = "https://auth.example.com"
    assert "Log in to the admin at https://auth.example.com/admin/" in seed(force=True)


def test_seed_demo_keeps_the_demo_credentials_for_the_readme(credentials_file, seed):
    first = seed(force=True)
    secrets = dict(CREDENTIALS_RE.findall(first))
    values = dict(
        line.removeprefix("export ").split("=", 1)
        for line in credentials_file.read_text().splitlines()
        if line.startswith("export ")
    )
    m2m = Application.objects.get(name="Portcullis Demo Fulfilment Service")
    assert values["DEMO_M2M_CLIENT_ID"] == m2m.client_id
    assert values["DEMO_M2M_CLIENT_SECRET"] == secrets[m2m.client_id]
    partner_app = Application.objects.get(name="Acme Order Sync")
    assert values["DEMO_PARTNER_CLIENT_ID"] == partner_app.client_id
    seed(force=True)  # a second run knows no secret, and keeps the ones written before
    assert f"export DEMO_M2M_CLIENT_SECRET={secrets[m2m.client_id]}" in credentials_file.read_text()


def test_the_demo_partner_app_logs_alice_in_to_globex_as_the_readme_says(client, credentials_file, seed):
    """The README's walk-through with ``&organization=globex``: alice consents for Globex and the
    token the partner's app gets carries its org_id."""
    seed(force=True)
    values = dict(re.findall(r"export (\w+)=(\S+)", credentials_file.read_text()))
    app = Application.objects.get(client_id=values["DEMO_PARTNER_CLIENT_ID"])
    verifier = "portcullis-demo-code-verifier-0123456789-abcdefghijkl"
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": "http://127.0.0.1:8080/callback",
        "audience": ORDERS,
        "scope": "read:orders",
        "state": "demo-state",
        "code_challenge": "TtJ_Tw-JU-gVyjtuTJULZNVEXQZBz0iPsfA_6xwDxS4",
        "code_challenge_method": "S256",
        "organization": "globex",
    }
    path = "/authorize?" + urlencode(query)
    client.force_login(get_user_model().objects.get(username="alice"))
    screen = client.get(path)
    assert "Globex Corporation" in screen.content.decode()
    answer = client.post(path, {"decision": "accept", "scope": ["read:orders"]})
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    token = client.post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": values["DEMO_PARTNER_CLIENT_SECRET"],
            "redirect_uri": "http://127.0.0.1:8080/callback",
            "code_verifier": verifier,
        },
    ).json()
    payload = token["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["org_id"] == Organization.objects.get(name="globex").id
