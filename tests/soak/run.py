"""``make soak``: 50 concurrent clients for 60 seconds against a real deployment on loopback
(gunicorn, PostgreSQL, Redis, a Celery worker, an SMTP sink), while the run restarts PostgreSQL
once and kills the Celery worker once in the middle of delivering an email.

It checks, and prints: requests served; errors by kind; that requests during the database outage
failed fast (503 with a JSON error, within 5 seconds) and that everything succeeded again
afterwards (the recovery time); that no consent, client grant or registration the server
acknowledged was lost or half-written (against the load's ledger, audit entries included); that
the audit chain is intact; that the interrupted email was delivered exactly once.

Everything it starts is its own and on loopback: a throwaway PostgreSQL cluster (never the
machine's shared server), a Redis server, the sink. ``SOAK_SECONDS`` and ``SOAK_CLIENTS`` change
the duration and the number of clients. Exit status 1 when a check fails.

``--cluster`` (or ``SOAK_MODE=cluster``): three nodes behind HAProxy and PgBouncer instead, see
``tests.soak.cluster``.
"""

import os
import secrets
import shutil
import sys
import time
from collections import Counter

from tests.soak.infrastructure import (
    Process,
    SmtpSink,
    ThrowawayPostgres,
    ThrowawayRedis,
    free_port,
    gunicorn,
    python,
    temporary_root,
    wait_until,
)
from tests.soak.load import describe_failures

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "50"))
OUTAGE_SECONDS = 5
FAIL_FAST_SECONDS = 5
EMAIL_RESEND_AFTER = 10


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def environment(postgres, redis, sink, web_port, root) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": postgres.url,
        "DATABASE_CONNECT_TIMEOUT": "3",
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PORTCULLIS_ISSUER": f"http://127.0.0.1:{web_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain http on loopback: cookies without the Secure flag, no redirect to https.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(root / "static"),
        "OUTBOX_RESEND_AFTER_SECONDS": str(EMAIL_RESEND_AFTER),
        # The load is one address and a few clients: the soak is about faults, not about limits.
        "RATE_LIMIT_TOKEN": "1000000/m",
        "RATE_LIMIT_LOGIN_ADDRESS": "1000000/m",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env, *args) -> None:
    import subprocess

    subprocess.run([python(), "manage.py", *args], env=env, check=True, capture_output=True, timeout=300)


def make_tenant(base_url: str):
    """Through the services, as an admin would: an API, machines, partner apps, users, automation."""
    from django.contrib.auth import get_user_model

    from oauthcore.audit import Actor
    from oauthcore.conf import portcullis_settings
    from oauthcore.constants import AppType, GrantType, SubjectType
    from oauthcore.models import Connection
    from oauthcore.services.applications import application_create
    from oauthcore.services.client_grants import client_grant_create
    from oauthcore.services.connections import connection_set_domain_level
    from oauthcore.services.resource_servers import resource_server_create
    from tests.soak.load import CALLBACK, Tenant

    actor = Actor.system("soak")
    api_client = application_create(actor=actor, name="Soak API", app_type=AppType.NON_INTERACTIVE)
    api = resource_server_create(
        actor=actor,
        identifier="https://soak.example.com/",
        name="Soak API",
        scopes=[("read:soak", "Read soak data")],
        client=api_client.application,
    )
    machines = []
    for n in range(10):
        issued = application_create(actor=actor, name=f"machine {n}", app_type=AppType.NON_INTERACTIVE)
        client_grant_create(actor=actor, audience=api.identifier, client=issued.application, scope=["read:soak"])
        machines.append((issued.application.client_id, issued.client_secret))
    partners = []
    for n in range(5):
        issued = application_create(
            actor=actor,
            name=f"partner {n}",
            app_type=AppType.REGULAR_WEB,
            is_first_party=False,
            callbacks=[CALLBACK],
            grant_types=[GrantType.AUTHORIZATION_CODE],
        )
        client_grant_create(
            actor=actor,
            audience=api.identifier,
            client=issued.application,
            scope=["read:soak"],
            subject_type=SubjectType.USER,
        )
        partners.append((issued.application.client_id, issued.client_secret))
    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    users = []
    for n in range(CLIENTS):
        password = secrets.token_urlsafe(16)
        get_user_model().objects.create_user(username=f"soak-user-{n}", password=password, connection=connection)
        users.append((f"soak-user-{n}", password))
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_management_client", "--name", "Soak automation", stdout=out)
    automation = json.loads(out.getvalue())
    return Tenant(
        base_url=base_url,
        audience=api.identifier,
        api_client=(api_client.application.client_id, api_client.client_secret),
        machines=machines,
        partners=partners,
        users=users,
        management=(automation["client_id"], automation["client_secret"]),
        management_audience=portcullis_settings.management_api_identifier,
    )


class Faults:
    """The two faults, at fixed points of the run, with what they saw."""

    def __init__(self, postgres, worker, sink, started: float):
        self.postgres, self.worker, self.sink, self.started = postgres, worker, sink, started
        self.email = None
        self.worker_killed_at = self.worker_restarted_at = None
        self.outage_started = self.outage_ended = None
        self.error = None

    def run(self) -> None:
        try:
            self.at(SECONDS * 0.15)
            self.kill_worker_mid_email()
            self.at(SECONDS * 0.45)
            self.restart_postgres()
        except Exception as exc:  # reported with the results
            self.error = exc

    def at(self, offset: float) -> None:
        time.sleep(max(0.0, self.started + offset - time.time()))

    def kill_worker_mid_email(self) -> None:
        from django.db import close_old_connections

        from oauthcore.outbox import email_queue

        close_old_connections()
        from django.db import transaction

        with transaction.atomic():
            self.email = email_queue(
                kind="soak", to=["ops@example.com"], subject="[slow] Delivered exactly once?", body="soak"
            )
        if not self.sink.holding.wait(20):
            raise RuntimeError("the worker never started sending the email")
        self.worker.kill()
        self.worker_killed_at = time.time()
        log("Celery worker killed (SIGKILL) while the SMTP server held its email")
        time.sleep(3)
        self.worker.start()
        self.worker_restarted_at = time.time()
        log("Celery worker restarted")

    def restart_postgres(self) -> None:
        self.outage_started = time.time()
        self.postgres.stop()
        log("PostgreSQL stopped")
        time.sleep(OUTAGE_SECONDS)
        self.postgres.start()
        self.outage_ended = time.time()
        log(f"PostgreSQL started again after {self.outage_ended - self.outage_started:.1f} s")


def deliver_lost_email(faults: Faults, sink) -> tuple[int, object]:
    """What beat does every minute: queue the sweep for emails whose task was lost. Then count."""
    from django.db import close_old_connections

    from oauthcore.models import OutboundEmail
    from portal.celery import app

    close_old_connections()
    time.sleep(max(0.0, faults.email.created_at.timestamp() + EMAIL_RESEND_AFTER + 1 - time.time()))
    app.send_task("portal.tasks.resend_stale_emails")
    message_id = faults.email.message_id
    deadline = time.time() + 60
    while time.time() < deadline and not sink.count(message_id):
        time.sleep(0.5)
    time.sleep(5)  # would a second copy arrive?
    return sink.count(message_id), OutboundEmail.objects.get(pk=faults.email.pk)


def check_ledger(ledger) -> list[str]:
    """Every acknowledged write is there, whole (with its audit entry); nothing half-written."""
    from consent.models import UserGrant
    from oauthcore.audit_chain import seal, verify_chain
    from oauthcore.models import Application, AuditEvent, ClientGrant

    problems = []
    clients = dict(Application.objects.filter(client_id__in=ledger.clients).values_list("client_id", "pk"))
    if missing := set(ledger.clients) - set(clients):
        problems.append(f"{len(missing)} acknowledged registration(s) lost")
    soak_apps = dict(Application.objects.filter(name__startswith="soak-").values_list("pk", "name"))
    audited = set(
        AuditEvent.objects.filter(action="client.create", target_id__in=[str(pk) for pk in soak_apps]).values_list(
            "target_id", flat=True
        )
    )
    if unaudited := [name for pk, name in soak_apps.items() if str(pk) not in audited]:
        problems.append(f"{len(unaudited)} registration(s) half-written (no audit entry)")
    if strangers := set(soak_apps.values()) - set(ledger.client_attempts):
        problems.append(f"{len(strangers)} registration(s) nobody asked for")
    grants = set(ClientGrant.objects.filter(pk__in=ledger.grants).values_list("pk", flat=True))
    if missing := set(ledger.grants) - grants:
        problems.append(f"{len(missing)} acknowledged client grant(s) lost")
    soak_grants = [
        str(pk) for pk in ClientGrant.objects.filter(client__name__startswith="soak-").values_list("pk", flat=True)
    ]
    audited = set(
        AuditEvent.objects.filter(action="client_grant.create", target_id__in=soak_grants).values_list(
            "target_id", flat=True
        )
    )
    if len(audited) != len(soak_grants):
        problems.append(f"{len(soak_grants) - len(audited)} client grant(s) half-written (no audit entry)")
    # Consents: each acknowledged (user, app) has its stored consent, with its audit entry.
    stored = {
        (username, client_id): (pk, set(scope))
        for pk, username, client_id, scope in UserGrant.objects.values_list(
            "pk", "user__username", "client__client_id", "scope"
        )
    }
    acknowledged = {}
    for username, client_id, scopes in ledger.consents:
        acknowledged.setdefault((username, client_id), set()).update(scopes)
    lost = [key for key, scopes in acknowledged.items() if not scopes <= stored.get(key, (None, set()))[1]]
    if lost:
        problems.append(f"{len(lost)} acknowledged consent(s) lost")
    audited = set(AuditEvent.objects.filter(action="consent.grant").values_list("target_id", flat=True))
    if unaudited := [key for key in acknowledged if key in stored and str(stored[key][0]) not in audited]:
        problems.append(f"{len(unaudited)} consent(s) half-written (no audit entry)")
    seal()  # what the beat task would have chained by now: every entry the soak wrote is checked
    report = verify_chain()
    if not report.intact:
        problems += [f"audit chain: {problem}" for problem in report.problems]
    return problems, report.checked


def main() -> int:
    root = temporary_root()
    log(f"working in {root}")
    postgres, redis, sink = ThrowawayPostgres(root), ThrowawayRedis(root), SmtpSink()
    web_port = free_port()
    processes = []
    try:
        postgres.init()
        redis.start()
        sink.start()
        env = environment(postgres, redis, sink, web_port, root)
        log(f"PostgreSQL {postgres.bin.parent.name} on port {postgres.port}, Redis {redis.port}, SMTP sink {sink.port}")
        manage(env, "migrate", "--no-input")
        manage(env, "collectstatic", "--no-input")
        os.environ.update(env)
        import django

        django.setup()
        base_url = f"http://127.0.0.1:{web_port}"
        tenant = make_tenant(base_url)
        web = Process(
            "gunicorn",
            gunicorn(web_port),
            env,
            root,
        )
        worker = Process(
            "celery-worker",
            [
                python(),
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-P",
                "solo",
                "-l",
                "warning",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            root,
        )
        processes += [web, worker]
        web.start()
        worker.start()
        import requests

        wait_until("gunicorn", lambda: _healthy(requests, base_url), 60)
        log(f"serving on {base_url}; {CLIENTS} clients for {SECONDS:.0f} s")

        from tests.soak.load import load_with_faults

        started = time.time()
        faults = Faults(postgres, worker, sink, started)
        load = load_with_faults(tenant, CLIENTS, SECONDS, faults, join_timeout=60)
        log("load finished; checking")
        email_count, email_row = deliver_lost_email(faults, sink) if faults.email else (0, None)
        problems, audit_entries = check_ledger(load.ledger)
        return report(load, faults, email_count, email_row, sink, problems, audit_entries, started)
    finally:
        for process in processes:
            process.stop()
        postgres.stop()
        redis.stop()
        if hasattr(sink, "controller"):
            sink.stop()
        if os.environ.get("SOAK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


def _healthy(requests, base_url) -> bool:
    try:
        return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def report(load, faults, email_count, email_row, sink, problems, audit_entries, started) -> int:
    failures = list(problems)
    if faults.error:
        failures.append(f"fault injection failed: {faults.error!r}")
    served = load.served()
    print()
    print("== Soak results ==")
    print(f"clients: {CLIENTS}, load: {SECONDS:.0f} s, requests answered: {sum(served.values())}")
    for kind, count in sorted(served.items()):
        print(f"  {kind:<14} {count}")
    outcomes = load.outcomes
    errors = load.errors()
    print(f"errors by kind: {sum(errors.values())}")
    for (kind, error), count in sorted(errors.items()):
        print(f"  {kind:<14} {error}: {count}")
    for line in describe_failures(outcomes):
        print(line)

    if faults.outage_started and faults.outage_ended:
        start, end = faults.outage_started, faults.outage_ended
        # Started while PostgreSQL was down: each must fail fast, 503 with a JSON error.
        during = [o for o in outcomes if start <= o.started < end]
        failed = [o for o in during if not o.ok]
        slowest = max((o.elapsed for o in failed), default=0.0)
        not_fast = [o for o in failed if o.error != "503 JSON (database unavailable)" or o.elapsed > FAIL_FAST_SECONDS]
        # Already being handled when it went away: a 503 as well, however long they had taken.
        in_flight = [o for o in outcomes if o.started < start <= o.started + o.elapsed]
        in_flight_failed = [o for o in in_flight if not o.ok]
        print(f"database outage: {end - start:.1f} s; {len(during)} requests started during it, {len(failed)} failed")
        print(f"  failures: {dict(Counter(o.error for o in failed))}; slowest failure answered in {slowest:.2f} s")
        print(
            f"  in flight when it stopped: {len(in_flight)}, "
            f"failures: {dict(Counter(o.error for o in in_flight_failed))}"
        )
        if not failed:
            failures.append("no request failed during the outage: was the database really down?")
        if not_fast:
            failures.append(f"{len(not_fast)} request(s) during the outage did not fail fast with a 503 JSON error")
        after = sorted((o for o in outcomes if o.started >= end), key=lambda o: o.started)
        last_failure = max((o.started for o in after if not o.ok), default=end)
        recovered = [o for o in after if o.started > last_failure]
        recovery = last_failure - end if any(not o.ok for o in after) else 0.0
        print(
            f"recovery: everything succeeded again {recovery:.2f} s after PostgreSQL was back "
            f"({len(recovered)} requests after that, all successful)"
        )
        if not recovered or {o.kind for o in recovered} < {"token", "introspect", "management"}:
            failures.append("not every kind of request succeeded after the outage")
        expected = {id(o) for o in during + in_flight}
        outside = [o for o in outcomes if not o.ok and id(o) not in expected and not (end <= o.started <= last_failure)]
        if bad_in_flight := [o for o in in_flight_failed if not o.error.startswith("503 JSON")]:
            failures.append(f"{len(bad_in_flight)} request(s) in flight failed otherwise than 503 JSON")
        if outside:
            failures.append(f"{len(outside)} error(s) outside the outage: {dict(Counter(o.error for o in outside))}")
    else:
        failures.append("PostgreSQL was not restarted")

    ledger = load.ledger
    pairs = len({(user, client) for user, client, _ in ledger.consents})
    print(
        f"ledger: {len(ledger.clients)} registrations, {len(ledger.grants)} client grants, "
        f"{len(ledger.consents)} consents ({pairs} user/app pairs) acknowledged; "
        f"{len(ledger.client_attempts)} registrations attempted"
    )
    print(f"ledger check: {'OK, nothing lost or half-written' if not problems else '; '.join(problems)}")
    print(
        f"audit chain: {audit_entries} entries verified"
        + ("" if not any("audit chain" in p for p in problems) else ", BROKEN")
    )
    if faults.worker_killed_at:
        print(
            f"email interrupted by the worker kill: delivered {email_count} time(s) after the restart "
            f"(sent_at {'set' if email_row and email_row.sent_at else 'missing'}, "
            f"{sink.abandoned} delivery abandoned mid-DATA)"
        )
        if email_count != 1 or not (email_row and email_row.sent_at):
            failures.append(f"the interrupted email was delivered {email_count} times")
        if sink.abandoned < 1:
            failures.append("the worker was not killed in the middle of a delivery")
    else:
        failures.append("the Celery worker was not killed")
    print(f"total run time: {time.time() - started:.0f} s")
    print("RESULT: " + ("PASS" if not failures else "FAIL\n  - " + "\n  - ".join(failures)))
    return 0 if not failures else 1


def cluster_mode() -> bool:
    return "--cluster" in sys.argv[1:] or os.environ.get("SOAK_MODE", "single") == "cluster"


if __name__ == "__main__":
    if cluster_mode():
        from tests.soak.cluster import main as cluster_main

        sys.exit(cluster_main())
    sys.exit(main())
