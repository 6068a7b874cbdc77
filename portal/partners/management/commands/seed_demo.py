"""``python manage.py seed_demo``: a small demo tenant to click through, built through the services.

Idempotent: every object is looked up by its natural key and created only when it is missing;
nothing that exists is changed, so a second run writes nothing (not even audit events).
The demo users get fixed, printed passwords, so the command refuses to run with DEBUG off
unless ``--force`` is given.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.constants import (
    DATABASE_CONNECTION_NAME,
    AppType,
    CreatedVia,
    DefaultFor,
    GrantType,
    OrganizationUsage,
    SecurityMode,
    SubjectType,
    UserPolicy,
)
from oauthcore.models import Application, ClientGrant, Connection, Organization, ResourceServer
from oauthcore.services.applications import application_create
from oauthcore.services.client_grants import client_grant_create
from oauthcore.services.connections import connection_set_domain_level, connection_set_enabled_clients
from oauthcore.services.organizations import (
    organization_connection_add,
    organization_create,
    organization_members_add,
)
from oauthcore.services.resource_servers import resource_server_create
from oauthcore.services.users import user_create, user_update
from portal.partners.models import Partner, PartnerMembership, PartnerStatus, Role
from portal.partners.services.apps import partner_application_create
from portal.partners.services.memberships import membership_add
from portal.partners.services.partners import partner_create, partner_set_status

ORDERS_API = "https://api.demo.portcullis.test/orders/"
CATALOG_API = "https://api.demo.portcullis.test/catalog/"
PARTNER_NAME = "Acme Partners"
# A business customer of the tenant that lets partners' apps reach its people.
ORGANIZATION = {"name": "globex", "display_name": "Globex Corporation"}
CREDENTIALS_FILE = Path(settings.BASE_DIR) / ".demo-credentials.env"

# Demo credentials: published on purpose, which is why DEBUG must be on (or --force given).
ADMIN = {"username": "admin", "email": "admin@demo.portcullis.test", "password": "admin-demo-password"}
END_USER = {
    "username": "alice",
    "email": "alice@demo.portcullis.test",
    "password": "alice-demo-password",
    "first_name": "Alice",
    "last_name": "Example",
}
PARTNER_USER = {
    "username": "acme-dev",
    "email": "dev@acme-partners.test",
    "password": "acme-demo-password",
    "first_name": "Ada",
    "last_name": "Acme",
}


@dataclass
class SeededApp:
    label: str
    application: Application
    client_secret: str | None  # only when created in this run: secrets are stored hashed
    env: str = ""  # the prefix of its variables in the credentials file


@dataclass
class Seeded:
    created: list[str] = field(default_factory=list)
    existing_users: set[str] = field(default_factory=set)
    apps: list[SeededApp] = field(default_factory=list)
    apis: list[ResourceServer] = field(default_factory=list)


class Command(BaseCommand):
    help = "Create a demo tenant (APIs, apps, a partner, client grants and users); safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off. The demo users have published passwords: never on a real tenant.",
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=CREDENTIALS_FILE,
            help="Where to keep the demo apps' client ids and secrets as shell variables (default: %(default)s).",
        )

    def handle(self, *args, force: bool = False, credentials_file: Path = CREDENTIALS_FILE, **options):
        self.credentials_file = credentials_file
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with published passwords, so it runs only with DEBUG on. "
                "Pass --force to run it anyway (never on a real tenant)."
            )
        self.actor = Actor.system("seed_demo")
        self.seeded = Seeded()
        with transaction.atomic():
            self._seed()
        self._write_credentials_file()
        self._report()

    # -- seeding -------------------------------------------------------------------------------

    def _seed(self) -> None:
        connection = Connection.objects.filter(name=DATABASE_CONNECTION_NAME).first()
        if connection is None:
            raise CommandError(f"The {DATABASE_CONNECTION_NAME} connection is missing: run `manage.py migrate` first.")
        if not connection.is_domain_connection:
            connection_set_domain_level(actor=self.actor, connection=connection, is_domain_connection=True)
            self.seeded.created.append(f"{connection.name} promoted to a domain-level connection")

        self._user(ADMIN, connection, superuser=True)
        end_user = self._user(END_USER, connection)
        partner_user = self._user(PARTNER_USER, connection)

        orders = self._api(
            ORDERS_API,
            "Orders API",
            scopes=[("read:orders", "Read your orders"), ("write:orders", "Create and change your orders")],
            user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
            allow_offline_access=True,
        )
        catalog = self._api(
            CATALOG_API,
            "Catalog API",
            scopes=[("read:catalog", "Read the product catalog")],
            user_policy=UserPolicy.ALLOW_ALL,
        )

        partner = self._partner(owner=partner_user)

        web = self._app(
            "DEMO_WEB",
            "first-party web app",
            name="Portcullis Demo Web",
            app_type=AppType.REGULAR_WEB,
            description="The company's own web front end.",
            callbacks=["http://127.0.0.1:3000/callback", "http://localhost:3000/callback"],
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        )
        third_party = self._app(
            "DEMO_PARTNER",
            f"strict third-party app of {PARTNER_NAME}",
            name="Acme Order Sync",
            app_type=AppType.REGULAR_WEB,
            partner=partner,
            is_first_party=False,
            third_party_security_mode=SecurityMode.STRICT,
            created_via=CreatedVia.PORTAL,
            description="Syncs a customer's orders into Acme's tools.",
            organization_usage=OrganizationUsage.ALLOW,
            callbacks=["https://oauth.pstmn.io/v1/callback", "http://127.0.0.1:8080/callback"],
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        )
        m2m = self._app(
            "DEMO_M2M",
            "first-party machine-to-machine app",
            name="Portcullis Demo Fulfilment Service",
            app_type=AppType.NON_INTERACTIVE,
            description="A first-party back end that calls the Orders API as itself.",
            grant_types=[GrantType.CLIENT_CREDENTIALS],
        )

        if not connection.enabled_clients.filter(pk=web.pk).exists():
            connection_set_enabled_clients(actor=self.actor, connection=connection, changes={web.pk: True})
            self.seeded.created.append(f"{connection.name} enabled for {web.name}")

        self._organization(connection=connection, members=[end_user])

        self._grant(
            "default grant for third-party apps on the Catalog API",
            audience=catalog.identifier,
            default_for=DefaultFor.THIRD_PARTY_CLIENTS,
            subject_type=SubjectType.USER,
            scope=["read:catalog"],
        )
        self._grant(
            f"client grant: {third_party.name} on the Orders API (user)",
            audience=orders.identifier,
            client=third_party,
            subject_type=SubjectType.USER,
            scope=["read:orders"],
        )
        self._grant(
            f"client grant: {m2m.name} on the Orders API (client credentials)",
            audience=orders.identifier,
            client=m2m,
            subject_type=SubjectType.CLIENT,
            scope=["read:orders", "write:orders"],
        )

    def _user(self, spec: dict, connection: Connection, *, superuser: bool = False):
        User = get_user_model()
        user = User.objects.filter(username=spec["username"]).first()
        if user is not None:
            self.seeded.existing_users.add(user.username)
            return user
        user = user_create(
            actor=self.actor,
            connection=connection,
            email=spec["email"],
            username=spec["username"],
            password=spec["password"],
        )
        fields = {key: value for key, value in spec.items() if key not in {"username", "email", "password"}}
        if superuser:
            fields.update(is_staff=True, is_superuser=True)
        # The demo's addresses are the tenant's own, set by the tenant: vouched for, as an admin would.
        user_update(actor=self.actor, user=user, email_verified=True, **fields)
        self.seeded.created.append(f"user {user.username}")
        return user

    def _api(self, identifier: str, name: str, *, scopes, **fields) -> ResourceServer:
        api = ResourceServer.objects.filter(identifier=identifier).first()
        if api is None:
            api = resource_server_create(actor=self.actor, identifier=identifier, name=name, scopes=scopes, **fields)
            self.seeded.created.append(f"API {identifier}")
        self.seeded.apis.append(api)
        return api

    def _partner(self, *, owner) -> Partner:
        partner = Partner.objects.filter(name=PARTNER_NAME).first()
        if partner is None:
            partner = partner_create(
                actor=self.actor, name=PARTNER_NAME, owner=owner, website="https://partners.acme.example"
            )
            self.seeded.created.append(f"partner {PARTNER_NAME}")
            if partner.status != PartnerStatus.ACTIVE:  # the tenant requires approval: the demo approves it
                partner_set_status(actor=self.actor, partner=partner, status=PartnerStatus.ACTIVE)
        elif not PartnerMembership.objects.filter(partner=partner, user=owner).exists():
            membership_add(actor=self.actor, partner=partner, user=owner, role=Role.ADMIN)
            self.seeded.created.append(f"{owner.username} added to {PARTNER_NAME}")
        return partner

    def _app(self, env: str, label: str, *, name: str, app_type: str, partner=None, **fields) -> Application:
        application = Application.objects.filter(
            name=name, partner=partner, is_first_party=fields.get("is_first_party", True)
        ).first()
        secret = None
        if application is None:
            arguments = {"actor": self.actor, "name": name, "app_type": app_type, **fields}
            if partner is None:
                issued = application_create(**arguments)
            else:
                issued = partner_application_create(partner=partner, **arguments)
            application, secret = issued.application, issued.client_secret
            self.seeded.created.append(f"application {name}")
        self.seeded.apps.append(SeededApp(label, application, secret, env))
        return application

    def _organization(self, *, connection: Connection, members) -> None:
        if Organization.objects.filter(name=ORGANIZATION["name"]).exists():
            return
        organization = organization_create(actor=self.actor, **ORGANIZATION, third_party_client_access="allow")
        organization_connection_add(actor=self.actor, organization=organization, connection=connection)
        organization_members_add(actor=self.actor, organization=organization, users=members)
        names = ", ".join(member.username for member in members)
        self.seeded.created.append(f"organization {organization.name} (third-party apps allowed; members: {names})")

    def _grant(self, label: str, *, audience: str, client=None, default_for=None, subject_type: str, scope) -> None:
        exists = ClientGrant.objects.filter(
            client=client, default_for=default_for, resource_server_id=audience, subject_type=subject_type
        ).exists()
        if not exists:
            client_grant_create(
                actor=self.actor,
                audience=audience,
                client=client,
                default_for=default_for,
                subject_type=subject_type,
                scope=list(scope),
            )
            self.seeded.created.append(label)

    # -- output --------------------------------------------------------------------------------

    def _report(self) -> None:
        out = self.stdout.write
        seeded = self.seeded
        if seeded.created:
            out(self.style.SUCCESS(f"Demo tenant seeded: {len(seeded.created)} changes."))
            for item in seeded.created:
                out(f"  + {item}")
        else:
            out(self.style.SUCCESS("Demo tenant already in place: nothing to create."))

        login_url = settings.ISSUER + reverse("admin:index")
        out("")
        out(f"Log in to the admin at {login_url}")
        out(f"Partners log in to the partner portal at {settings.ISSUER + reverse('portal:home')} (try acme-dev)")
        self._credentials("tenant admin (staff, superuser)", ADMIN)
        out("Other demo users (not staff, no admin access):")
        self._credentials("end user", END_USER)
        self._credentials(f"partner member ({PARTNER_NAME})", PARTNER_USER)

        out("")
        out("APIs")
        for api in seeded.apis:
            scopes = " ".join(api.scopes.values_list("value", flat=True))
            offline = ", refresh tokens allowed" if api.allow_offline_access else ""
            out(f"  {api.name}: {api.identifier}")
            out(f"    user access: {api.user_policy}{offline}; scopes: {scopes}")

        out("")
        out(f"Organization: {ORGANIZATION['display_name']} ({ORGANIZATION['name']}), third-party apps allowed:")
        out(f"  add &organization={ORGANIZATION['name']} to an /authorize request of Acme Order Sync, as alice")

        out("")
        out("Applications")
        for app in seeded.apps:
            out(f"  {app.application.name}: {app.label} ({app.application.app_type})")
            out(f"    client_id:     {app.application.client_id}")
            if app.client_secret:
                out(f"    client_secret: {app.client_secret}")
                out("    (shown only now: it is stored hashed; also in .demo-credentials.env)")
            else:
                out("    client_secret: (shown once, when the app was created; it is stored hashed.")
                out("                   Rotate it in the admin to get a new one.)")

    def _write_credentials_file(self) -> None:
        """The demo apps' credentials as shell variables, for the README's curl examples.

        A secret is known only on the run that creates its app, so the file keeps it afterwards.
        """
        path = self.credentials_file
        values = {}
        if path.exists():
            for line in path.read_text().splitlines():
                key, _, value = line.removeprefix("export ").partition("=")
                if key and not key.startswith("#"):
                    values[key] = value
        for app in self.seeded.apps:
            if values.get(f"{app.env}_CLIENT_ID") != app.application.client_id:
                values.pop(f"{app.env}_CLIENT_SECRET", None)  # the app was made again: that secret is stale
            values[f"{app.env}_CLIENT_ID"] = app.application.client_id
            if app.client_secret:
                values[f"{app.env}_CLIENT_SECRET"] = app.client_secret
        lines = ["# Demo app credentials written by `manage.py seed_demo` (demo only; never commit)."]
        lines += [f"export {key}={value}" for key, value in sorted(values.items())]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)

    def _credentials(self, role: str, spec: dict) -> None:
        note = " (if not changed since it was first seeded)" if spec["username"] in self.seeded.existing_users else ""
        self.stdout.write(f"  {role}: username {spec['username']}, password {spec['password']}{note}")
