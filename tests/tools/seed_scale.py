"""``python -m tests.tools.seed_scale --yes``: a tenant at scale, for the benchmark's at-scale run.

By default 100,000 applications, 200,000 client grants, 1,000,000 user consents and 1,000,000
access tokens (plus the APIs and users they refer to), added next to whatever the database holds.
Rows are generated as they are written, in batches (``COPY`` on PostgreSQL), so memory stays flat
whatever the sizes; progress is printed per batch, and the peak memory at the end.

This is test data for a benchmark database: rows are written directly, not through the services,
and nothing is audited. Every seeded application shares one client secret nobody knows. That is
why it lives with the tests and is no command of the product: ``manage.py`` cannot run it.
"""

import os
import sys

if __name__ == "__main__":  # run with ``python -m``: Django is set up before the models are imported
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()

import hashlib
import random
import resource
import secrets
import string
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from consent.models import UserGrant
from oauthcore import policy_cache
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, SecurityMode, SubjectType
from oauthcore.credentials import ClientSecretHasher
from oauthcore.models import AccessToken, Application, ClientGrant, Connection, ResourceServer, ResourceServerScope
from tests.tools.bulk import BulkWriter, next_id, reset_sequences

ALPHANUMERIC = string.ascii_letters + string.digits
API_SCOPES = ("read:items", "write:items", "read:reports", "delete:items", "admin:items")
# (share of the apps, app type, first party, security mode, subject type of their grants)
APP_KINDS = (
    (0.45, AppType.NON_INTERACTIVE, False, SecurityMode.STRICT, SubjectType.CLIENT),
    (0.20, AppType.REGULAR_WEB, False, SecurityMode.STRICT, SubjectType.USER),
    (0.05, AppType.REGULAR_WEB, False, SecurityMode.PERMISSIVE, SubjectType.USER),
    (0.20, AppType.NON_INTERACTIVE, True, "", SubjectType.CLIENT),
    (0.10, AppType.SPA, True, "", SubjectType.USER),
)


class Command(BaseCommand):
    help = "Add a large synthetic tenant (apps, client grants, consents, tokens) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--apps", type=int, default=100_000)
        parser.add_argument("--client-grants", type=int, default=200_000)
        parser.add_argument("--user-grants", type=int, default=1_000_000)
        parser.add_argument("--tokens", type=int, default=1_000_000)
        parser.add_argument("--users", type=int, default=None, help="Default: one per ten user grants.")
        parser.add_argument("--apis", type=int, default=50)
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a reproducible data set.")
        parser.add_argument("--yes", action="store_true", help="Really write into this database.")

    def handle(self, *args, **options):
        sizes = {name: options[name] for name in ("apps", "client_grants", "user_grants", "tokens", "apis")}
        sizes["users"] = options["users"] if options["users"] is not None else max(1, options["user_grants"] // 10)
        if any(value < 0 for value in sizes.values()) or options["batch_size"] < 1:
            raise CommandError("Sizes cannot be negative and the batch size must be at least 1.")
        if sizes["apps"] == 0 and (sizes["client_grants"] or sizes["user_grants"] or sizes["tokens"]):
            raise CommandError("Grants, consents and tokens need at least one application.")
        if sizes["apis"] == 0 and (sizes["client_grants"] or sizes["user_grants"] or sizes["tokens"]):
            raise CommandError("Grants, consents and tokens need at least one API.")
        if sizes["client_grants"] > sizes["apps"] * sizes["apis"]:
            raise CommandError("At most one client grant per application and API: add APIs or apps.")
        if sizes["user_grants"] and not sizes["users"]:
            raise CommandError("User grants need at least one user.")
        if sizes["user_grants"] > sizes["users"] * sizes["apps"]:
            raise CommandError("At most one user grant per user and application: add users or apps.")
        database = connection.settings_dict["NAME"]
        plan = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in sizes.items())
        if not options["yes"]:
            raise CommandError(f"This adds {plan} to the database {database}. Run again with --yes to go ahead.")
        self.stdout.write(f"Seeding {database}: {plan}")
        self.batch_size = options["batch_size"]
        self.random = random.Random(options["seed"])
        self.nonce = secrets.randbits(64)  # names and token checksums differ from any earlier run's
        self.now = timezone.now()
        started = time.monotonic()

        apis = self.seed_apis(sizes["apis"])
        apps = self.seed_apps(sizes["apps"])
        self.seed_client_grants(sizes["client_grants"], apps, apis)
        users = self.seed_users(sizes["users"])
        self.seed_user_grants(sizes["user_grants"], users, apps, apis)
        self.seed_tokens(sizes["tokens"], users, apps, apis)

        with transaction.atomic():
            policy_cache.bump()  # written around the services: no process may keep deciding from before
        if connection.vendor == "postgresql":
            self.stdout.write("Analyzing the tables, so the planner knows their new sizes")
            with connection.cursor() as cursor:
                for model in (Application, ClientGrant, get_user_model(), UserGrant, AccessToken, ResourceServer):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            self.style.SUCCESS(f"Done in {time.monotonic() - started:.0f} s; peak memory {peak_mb:.0f} MB")
        )

    # -- helpers --------------------------------------------------------------------------------------

    def writer(self, model, given, label: str, total: int) -> BulkWriter:
        started = time.monotonic()

        def progress(written: int) -> None:
            self.stdout.write(f"  {label}: {written:,} / {total:,} ({time.monotonic() - started:.0f} s)")
            self.stdout.flush()

        return BulkWriter(model, given, batch_size=self.batch_size, progress=progress)

    def token(self, length: int) -> str:
        return "".join(self.random.choices(ALPHANUMERIC, k=length))

    def hex_id(self) -> str:
        """24 hex digits: the shape of the ids of APIs, users and consents."""
        return f"{self.random.getrandbits(96):024x}"

    # -- the tables -----------------------------------------------------------------------------------

    def seed_apis(self, count: int) -> list[str]:
        """``count`` APIs with five scopes each; returns their identifiers."""
        prefix = f"https://api-{self.nonce:x}-"
        identifiers = [f"{prefix}{n}.scale.portcullis.test/" for n in range(count)]
        ids = [self.hex_id() for _ in identifiers]
        given = ("id", "identifier", "name", "created_at", "updated_at")
        with self.writer(ResourceServer, given, "APIs", count) as apis:
            for n, (pk, identifier) in enumerate(zip(ids, identifiers, strict=True)):
                apis.add((pk, identifier, f"Scale API {n}", self.now, self.now))
        given = ("resource_server_id", "value", "description")
        with self.writer(ResourceServerScope, given, "API scopes", count * len(API_SCOPES)) as scopes:
            for pk in ids:
                for value in API_SCOPES:
                    scopes.add((pk, value, value.replace(":", " ")))
        return identifiers

    def seed_apps(self, count: int) -> tuple[int, int]:
        """Returns (first id, count). Apps are laid out kind after kind: ``kind_of(n)`` is the n-th's."""
        templates = []
        for share, app_type, first_party, mode, subject_type in APP_KINDS:
            template = Application(
                name="template", app_type=app_type, is_first_party=first_party, third_party_security_mode=mode
            )
            if app_type != AppType.NON_INTERACTIVE:
                template.callbacks = ["https://app.scale.example/callback"]
            template.apply_creation_defaults()
            template.sync_dot_fields()
            templates.append((share, template, subject_type))
        secret = ClientSecretHasher().encode(secrets.token_urlsafe(48), secrets.token_hex(8))
        derived = (
            "client_type",
            "authorization_grant_type",
            "registration_source",
            "algorithm",
            "app_type",
            "is_first_party",
            "third_party_security_mode",
            "redirection_policy",
            "grant_types",
            "token_endpoint_auth_method",
            "hash_client_secret",
        )
        given = ("id", "client_id", "name", "redirect_uris", "client_secret", "client_secret_hint")
        given += ("created", "updated")
        first_id = next_id(Application)
        self.app_kinds = []  # (first index, template, subject type): apps are laid out kind after kind
        start = 0
        for share, template, subject_type in templates:
            self.app_kinds.append((start, template, subject_type))
            start += round(count * share)
        with self.writer(Application, (*given, *derived), "applications", count) as apps:
            for n in range(count):
                _, template, _ = self.kind_of(n)
                strict = template.is_strict_third_party
                client_id = "tpc_" + self.token(22) if strict else self.token(32)
                callbacks = f"https://app{n}.scale.example/callback" if template.callbacks else ""
                row = (first_id + n, client_id, f"Scale app {n}", callbacks, secret, "", self.now, self.now)
                apps.add(row + tuple(getattr(template, name) for name in derived))
        reset_sequences(Application)
        return first_id, count

    def kind_of(self, n: int) -> tuple[int, Application, str]:
        """(first index, template, grants' subject type) of the n-th seeded app."""
        for kind in reversed(self.app_kinds):
            if n >= kind[0]:
                return kind
        return self.app_kinds[0]

    def seed_client_grants(self, count: int, apps, apis: list[str]) -> None:
        """Grant ``g`` goes to app ``g % apps``, for its ``g // apps``-th API: never twice the same pair."""
        first_app, app_count = apps
        given = ("id", "client_id", "resource_server_id", "scope", "subject_type", "created_at", "updated_at")
        with self.writer(ClientGrant, given, "client grants", count) as grants:
            for g in range(count):
                n, round_ = g % app_count, g // app_count
                api = apis[(n + round_) % len(apis)]
                _, _, subject_type = self.kind_of(n)
                scope = list(API_SCOPES[: 1 + (g % 3)])
                grants.add(("cgr_" + self.token(16), first_app + n, api, scope, subject_type, self.now, self.now))

    def seed_users(self, count: int) -> tuple[int, int]:
        connection_id = Connection.objects.get(name=DATABASE_CONNECTION_NAME).pk
        User = get_user_model()
        first_id = next_id(User)
        given = ("id", "username", "email", "password", "uid", "connection_id", "date_joined")
        with self.writer(User, given, "users", count) as users:
            for n in range(count):
                name = f"scale-{self.nonce:x}-{n}"
                users.add((first_id + n, name, f"{name}@example.com", "!", self.hex_id(), connection_id, self.now))
        reset_sequences(User)
        return first_id, count

    def seed_user_grants(self, count: int, users, apps, apis: list[str]) -> None:
        """Consent ``g`` is user ``g % users``'s ``g // users``-th, each for another app."""
        first_user, user_count = users
        first_app, app_count = apps
        per_user = -(-count // user_count) if user_count else 0
        stride = max(1, app_count // max(1, per_user))
        given = ("id", "user_id", "client_id", "audience", "scope", "created_at", "updated_at")
        with self.writer(UserGrant, given, "user grants", count) as consents:
            for g in range(count):
                u, j = g % user_count, g // user_count
                app = (u + j * stride) % app_count
                api = apis[(u + j) % len(apis)]
                row = (self.hex_id(), first_user + u, first_app + app, api, ["read:items"], self.now, self.now)
                consents.add(row)

    def seed_tokens(self, count: int, users, apps, apis: list[str]) -> None:
        """A fifth already expired (as between two cleanups); user tokens for apps that act for users."""
        first_user, user_count = users
        first_app, app_count = apps
        first_id = next_id(AccessToken)
        given = (
            "id",
            "token",
            "token_checksum",
            "application_id",
            "user_id",
            "expires",
            "scope",
            "resource",
            "audience",
            "created",
            "updated",
        )
        with self.writer(AccessToken, given, "access tokens", count) as tokens:
            for t in range(count):
                n = self.random.randrange(app_count)
                _, _, subject_type = self.kind_of(n)
                user = first_user + self.random.randrange(user_count) if subject_type == "user" and user_count else None
                api = apis[self.random.randrange(len(apis))]
                expires = self.now + timedelta(seconds=self.random.randrange(-21_600, 86_400))
                checksum = hashlib.sha256(b"scale-token:%d:%d" % (self.nonce, t)).hexdigest()
                created = expires - timedelta(days=1)
                row = (first_id + t, "", checksum, first_app + n, user, expires, "read:items", [api], api)
                tokens.add((*row, created, created))
        reset_sequences(AccessToken)


if __name__ == "__main__":
    Command().run_from_argv(["seed_scale", "seed_scale", *sys.argv[1:]])
