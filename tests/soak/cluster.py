"""``make soak SOAK_MODE=cluster``: three Portcullis nodes (gunicorn each, on its own port, with its
own per-process caches) behind HAProxy, sharing the throwaway PostgreSQL through PgBouncer in
transaction mode and the throwaway Redis, under the same mixed load as the single-node soak.

Three faults, in sequence, each checked:

a) one node is killed (SIGKILL, master and workers) mid-load: nothing acknowledged is lost (the
   ledger), HAProxy takes it out of rotation within a few seconds (time printed), the other nodes
   keep answering; it is then started again and must come back into rotation.
b) the signing key is rotated with ``manage.py rotate_signing_key`` in one node's environment:
   within 5 seconds every node publishes the new key and signs with it (the ``kid`` of tokens
   fetched from each node directly), and tokens issued before still introspect active everywhere.
c) after the load, the nodes start again with a low token rate limit: a fresh client's token
   requests, round robin through HAProxy and to each node directly, are allowed as often as the
   one limit allows, not once per node.

Migrations run against PostgreSQL directly; the nodes go through PgBouncer.
"""

import base64
import json
import os
import shutil
import time
from collections import Counter

import requests

from tests.soak.infrastructure import (
    HAProxy,
    PgBouncer,
    Process,
    SmtpSink,
    ThrowawayPostgres,
    ThrowawayRedis,
    free_port,
    gunicorn,
    temporary_root,
    wait_until,
)
from tests.soak.load import describe_failures
from tests.soak.run import CLIENTS, SECONDS, check_ledger, environment, log, make_tenant, manage

NODES = 3
WORKERS_PER_NODE = 2
DETECTION_BOUND = 5.0  # seconds from the kill until HAProxy says DOWN
ROTATION_BOUND = 5.0  # seconds from the rotation until every node signs with the new key
ROTATION_PATIENCE = 40.0  # how long to keep looking, to report when it did happen
RATE_LIMIT = 30  # token requests per minute in the rate-limit phase
RATE_REQUESTS_PER_TARGET = 30  # through HAProxy and to each node: 4 x the limit in all


class Node:
    def __init__(self, n: int, port: int, env: dict, root):
        self.name = f"node{n}"
        self.port = port
        self.env = env
        self.root = root
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **overrides) -> None:
        self.process = Process(self.name, gunicorn(self.port, WORKERS_PER_NODE), {**self.env, **overrides}, self.root)
        self.process.start()

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def wait_for_rotation(haproxy, nodes, wanted: str, timeout: float = 30) -> float:
    """Seconds until HAProxy reports every node's status as ``wanted``."""
    started = time.time()
    wait_until(f"HAProxy seeing every node {wanted}", lambda: all_status(haproxy, nodes, wanted), timeout)
    return time.time() - started


def all_status(haproxy, nodes, wanted: str) -> bool:
    status = haproxy.status()
    return all(status.get(node.name) == wanted for node in nodes)


def token(base_url: str, client: tuple[str, str], audience: str) -> requests.Response:
    data = {"grant_type": "client_credentials", "audience": audience}
    return requests.post(f"{base_url}/oauth/token", data=data, auth=client, timeout=10)


def kid_of(jwt: str) -> str:
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


class Faults:
    """Faults a and b, at fixed points of the load, with what they saw."""

    def __init__(self, haproxy, nodes, tenant, started: float):
        self.haproxy, self.nodes, self.tenant, self.started = haproxy, nodes, tenant, started
        self.killed_at = self.reaped_after = self.down_after = self.restarted_at = self.up_after = None
        self.rotated_at = self.new_kid = None
        self.rotation = {}  # node name -> seconds until it published and signed with the new key
        self.old_tokens_active = {}  # (issued by, introspected by) -> active
        self.error = None

    def run(self) -> None:
        try:
            self.at(SECONDS * 0.25)
            self.kill_node(self.nodes[0])
            self.at(SECONDS * 0.5)
            self.restart_node(self.nodes[0])
            self.at(SECONDS * 0.65)
            self.rotate_key(self.nodes[1])
        except Exception as exc:  # reported with the results
            self.error = exc

    def at(self, offset: float) -> None:
        time.sleep(max(0.0, self.started + offset - time.time()))

    def kill_node(self, node) -> None:
        self.killed_at = time.time()  # before the call: reaping the processes takes a while
        node.process.kill()
        # Until then the node's sockets may still take a connection: a request sent meanwhile is in
        # flight on the dying node, and fails with the requests that were there at the kill.
        self.reaped_after = time.time() - self.killed_at
        log(f"{node.name} killed (SIGKILL, master and workers), reaped {self.reaped_after:.2f} s after the signal")
        while time.time() - self.killed_at < 30:
            if self.haproxy.status().get(node.name, "").startswith("DOWN"):
                self.down_after = time.time() - self.killed_at
                log(f"HAProxy: {node.name} DOWN {self.down_after:.2f} s after the kill")
                return
            time.sleep(0.05)

    def restart_node(self, node) -> None:
        node.start()
        self.restarted_at = time.time()
        while time.time() - self.restarted_at < 60:
            if self.haproxy.status().get(node.name) == "UP":
                self.up_after = time.time() - self.restarted_at
                log(f"{node.name} restarted; back in rotation after {self.up_after:.1f} s")
                return
            time.sleep(0.1)

    def rotate_key(self, node) -> None:
        from django.db import close_old_connections

        from oauthcore.models import SigningKey

        client = self.tenant.machines[0]
        old = {n.name: token(n.url, client, self.tenant.audience).json()["access_token"] for n in self.nodes}
        manage(node.env, "rotate_signing_key")
        self.rotated_at = time.time()
        close_old_connections()
        self.new_kid = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first().kid
        log(f"signing key rotated through {node.name}'s environment: new kid {self.new_kid}")
        pending = {n.name: n for n in self.nodes}
        while pending and time.time() - self.rotated_at < ROTATION_PATIENCE:
            for name, n in list(pending.items()):
                if self.serves_new_key(n, client):
                    self.rotation[name] = time.time() - self.rotated_at
                    del pending[name]
            time.sleep(0.25)
        for issuer, old_token in old.items():
            for n in self.nodes:
                response = requests.post(
                    f"{n.url}/oauth/introspect", data={"token": old_token}, auth=self.tenant.api_client, timeout=10
                )
                self.old_tokens_active[(issuer, n.name)] = response.ok and response.json().get("active") is True

    def serves_new_key(self, node, client) -> bool:
        """The node publishes the new key and signs with it, on several requests in a row (so
        every worker process behind its port, not just one, has seen it)."""
        for _ in range(2 * WORKERS_PER_NODE):
            jwks = requests.get(f"{node.url}/.well-known/jwks.json", timeout=5).json()
            if self.new_kid not in {key["kid"] for key in jwks["keys"]}:
                return False
            response = token(node.url, client, self.tenant.audience)
            if not response.ok or kid_of(response.json()["access_token"]) != self.new_kid:
                return False
        return True


def rate_limit_phase(haproxy, nodes, tenant) -> dict:
    """A fresh client, the nodes started with RATE_LIMIT_TOKEN at RATE_LIMIT/m: its token requests
    in turn through HAProxy and to each node; how many were allowed at each."""
    from oauthcore.audit import Actor
    from oauthcore.constants import AppType
    from oauthcore.services.applications import application_create
    from oauthcore.services.client_grants import client_grant_create

    for node in nodes:
        node.process.stop()
    for node in nodes:
        node.start(RATE_LIMIT_TOKEN=f"{RATE_LIMIT}/m")
    wait_until("the nodes", lambda: all(node.healthy() for node in nodes), 60)
    wait_for_rotation(haproxy, nodes, "UP")
    actor = Actor.system("soak")
    issued = application_create(actor=actor, name="rate limit probe", app_type=AppType.NON_INTERACTIVE)
    client_grant_create(actor=actor, audience=tenant.audience, client=issued.application, scope=["read:soak"])
    client = (issued.application.client_id, issued.client_secret)
    targets = [("haproxy", haproxy.url)] + [(node.name, node.url) for node in nodes]
    allowed, refused, other = Counter(), Counter(), Counter()
    started = time.time()
    for _ in range(RATE_REQUESTS_PER_TARGET):
        for name, url in targets:
            status = token(url, client, tenant.audience).status_code
            (allowed if status == 200 else refused if status == 429 else other)[name] += 1
    return {"allowed": allowed, "refused": refused, "other": other, "seconds": time.time() - started}


def main() -> int:
    root = temporary_root()
    log(f"working in {root}")
    postgres, redis, sink = ThrowawayPostgres(root), ThrowawayRedis(root), SmtpSink()
    pgbouncer = PgBouncer(root, postgres)
    nodes, haproxy = [], None
    try:
        postgres.init()
        redis.start()
        sink.start()
        pgbouncer.start()
        node_ports = [free_port() for _ in range(NODES)]
        haproxy = HAProxy(root, node_ports)
        # One environment for all: the same SECRET_KEY, issuer (the balancer's address), Redis.
        direct = environment(postgres, redis, sink, haproxy.port, root)
        pooled = {**direct, "DATABASE_URL": pgbouncer.url, "DATABASE_POOLER": "transaction"}
        log(
            f"PostgreSQL {postgres.bin.parent.name} on port {postgres.port}, PgBouncer {pgbouncer.port}, "
            f"Redis {redis.port}, HAProxy {haproxy.port}"
        )
        manage(direct, "migrate", "--no-input")
        manage(direct, "collectstatic", "--no-input")
        os.environ.update(direct)
        import django

        django.setup()
        tenant = make_tenant(haproxy.url)
        for n, port in enumerate(node_ports, start=1):
            node = Node(n, port, pooled, root)
            nodes.append(node)
            node.start()
        haproxy.start()
        wait_until("the nodes", lambda: all(node.healthy() for node in nodes), 90)
        wait_for_rotation(haproxy, nodes, "UP")
        log(f"{NODES} nodes behind {haproxy.url}: " + ", ".join(f"{n.name} :{n.port}" for n in nodes))
        log(f"{CLIENTS} clients for {SECONDS:.0f} s")

        from tests.soak.load import load_with_faults

        started = time.time()
        faults = Faults(haproxy, nodes, tenant, started)
        load = load_with_faults(tenant, CLIENTS, SECONDS, faults, join_timeout=120)
        counters = haproxy.counters()  # before the rate-limit phase restarts every node
        log("load finished; checking the ledger")
        problems, audit_entries = check_ledger(load.ledger)
        log(f"rate-limit phase: nodes restarted with RATE_LIMIT_TOKEN={RATE_LIMIT}/m")
        limits = rate_limit_phase(haproxy, nodes, tenant)
        return report(load, faults, limits, problems, audit_entries, started, counters)
    finally:
        for node in nodes:
            if node.process:
                node.process.stop()
        if haproxy:
            haproxy.stop()
        pgbouncer.stop()
        postgres.stop()
        redis.stop()
        if hasattr(sink, "controller"):
            sink.stop()
        if os.environ.get("SOAK_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


def phase(outcomes, start, end, leave_out=()) -> tuple[list, list, list]:
    """The requests started in [start, end): all, failed with a timeout, failed otherwise."""
    leave_out = {id(o) for o in leave_out}
    during = [o for o in outcomes if start <= o.started < end and id(o) not in leave_out]
    return (
        during,
        [o for o in during if o.error == "timeout"],
        [o for o in during if not o.ok and o.error != "timeout"],
    )


def report_node_kill(outcomes, faults) -> list[str]:
    """The errors in each stretch of the kill. A request HAProxy sends to the dead node is
    refused at once and sent to another node, so what the dead node costs shows as connection
    errors and 502/503 answers. A timeout is a node too busy to answer within the clients' 10 s:
    the other nodes' capacity, reported against the same figure before the kill."""
    failures = []
    kill = faults.killed_at
    down = kill + faults.down_after if faults.down_after is not None else None
    in_flight = [o for o in outcomes if o.started < kill <= o.started + o.elapsed and not o.ok]
    print(
        f"a) node killed: HAProxy saw it DOWN after "
        f"{'never' if down is None else f'{faults.down_after:.2f} s'}; "
        f"requests in flight on any node at the kill that failed: {len(in_flight)} "
        f"{dict(Counter(o.error for o in in_flight))}"
    )
    if faults.reaped_after is not None:
        print(f"   the killed node's processes were reaped {faults.reaped_after:.2f} s after the SIGKILL")
    if down is None or faults.down_after > DETECTION_BOUND:
        failures.append(f"HAProxy did not take the dead node out within {DETECTION_BOUND:.0f} s")
    restart = faults.restarted_at or time.time()
    first = min((o.started for o in outcomes), default=kill)
    stretches = [("before the kill", first, kill), ("kill to DOWN", kill, down or restart)]
    if down is not None:
        stretches.append(("DOWN to restart", down, restart))
    stretches.append(("after the restart", restart, float("inf")))
    timeout_rates = {}
    for name, start, end in stretches:
        during, timeouts, other = phase(outcomes, start, end, leave_out=in_flight)
        timeout_rates[name] = len(timeouts) / len(during) if during else 0.0
        print(
            f"   {name:<18} {len(during):>5} requests, {len(other)} errors {dict(Counter(o.error for o in other))}, "
            f"{len(timeouts)} timeouts ({timeout_rates[name]:.1%})"
        )
    if down is not None:
        during, timeouts, other = phase(outcomes, down, restart)
        if not during:
            failures.append("no request was served while the node was down")
        if other:
            failures.append(f"{len(other)} request(s) failed otherwise than a timeout while the dead node was out")
    # HAProxy sends the restarted node requests only once it passed its checks: no errors either.
    _, _, other = phase(outcomes, restart, float("inf"))
    if other:
        failures.append(f"{len(other)} request(s) failed otherwise than a timeout after the restart")
    if faults.up_after is None:
        failures.append("the restarted node did not come back into rotation")
    else:
        print(f"   restarted: back in rotation {faults.up_after:.1f} s after its start")
    return failures


def print_counters(counters: dict[str, dict[str, str]]) -> None:
    """HAProxy's counters per node over the load: a reused connection a node closed under a request
    shows in them, not in HAProxy's log."""
    print("HAProxy's counters per node over the load:")
    for name, values in counters.items():
        if name != "BACKEND":
            print(f"  {name:<6} " + " ".join(f"{key}={value}" for key, value in values.items()))


def report(load, faults, limits, problems, audit_entries, started, counters) -> int:
    failures = list(problems)
    if faults.error:
        failures.append(f"fault injection failed: {faults.error!r}")
    served = load.served()
    print()
    print("== Cluster soak results ==")
    print(
        f"nodes: {NODES} x {WORKERS_PER_NODE} gunicorn workers behind HAProxy, PostgreSQL through PgBouncer "
        f"(transaction mode); clients: {CLIENTS}, load: {SECONDS:.0f} s, requests answered: {sum(served.values())}"
    )
    for kind, count in sorted(served.items()):
        print(f"  {kind:<14} {count}")
    errors = load.errors()
    print(f"errors by kind: {sum(errors.values())}")
    for (kind, error), count in sorted(errors.items()):
        print(f"  {kind:<14} {error}: {count}")
    for line in describe_failures(load.outcomes):
        print(line)
    print_counters(counters)

    # a) the killed node
    if faults.killed_at:
        failures += report_node_kill(load.outcomes, faults)
    else:
        failures.append("no node was killed")

    # b) key rotation
    if faults.rotated_at:
        timings = ", ".join(
            f"{node.name} {faults.rotation[node.name]:.2f} s" if node.name in faults.rotation else f"{node.name} never"
            for node in faults.nodes
        )
        print(f"b) key rotated (kid {faults.new_kid}): new key published and signing on each node after: {timings}")
        late = [n.name for n in faults.nodes if faults.rotation.get(n.name, float("inf")) > ROTATION_BOUND]
        if late:
            failures.append(f"not every node signed with the new key within {ROTATION_BOUND:.0f} s: {', '.join(late)}")
        active, checked = sum(faults.old_tokens_active.values()), len(faults.old_tokens_active)
        print(f"   tokens issued before the rotation, introspected on every node: {active}/{checked} active")
        if active != checked or not checked:
            failures.append("a token issued before the rotation was not active on every node")
    else:
        failures.append("the signing key was not rotated")

    # c) rate limits across nodes
    allowed = sum(limits["allowed"].values())
    sent = sum(limits["allowed"].values()) + sum(limits["refused"].values()) + sum(limits["other"].values())
    per_target = ", ".join(f"{name} {count}" for name, count in sorted(limits["allowed"].items()))
    print(
        f"c) rate limit {RATE_LIMIT}/min for one client: {sent} token requests in {limits['seconds']:.1f} s "
        f"(haproxy and each node in turn), {allowed} allowed ({per_target}), "
        f"{sum(limits['refused'].values())} refused with 429"
        + (f", other answers: {dict(limits['other'])}" if limits["other"] else "")
    )
    # The window slides: requests after a minute boundary get a little room back, never a node's worth.
    if not RATE_LIMIT <= allowed <= RATE_LIMIT + 2:
        failures.append(f"{allowed} token requests allowed, the limit is {RATE_LIMIT} (one count for the cluster)")
    if limits["other"]:
        failures.append("some token requests were answered neither 200 nor 429")

    ledger = load.ledger
    pairs = len({(user, client) for user, client, _ in ledger.consents})
    print(
        f"ledger: {len(ledger.clients)} registrations, {len(ledger.grants)} client grants, "
        f"{len(ledger.consents)} consents ({pairs} user/app pairs) acknowledged; "
        f"{len(ledger.client_attempts)} registrations attempted"
    )
    print(f"ledger check: {'OK, nothing lost or half-written' if not problems else '; '.join(problems)}")
    print(f"audit chain: {audit_entries} entries verified")
    print(f"total run time: {time.time() - started:.0f} s")
    print("RESULT: " + ("PASS" if not failures else "FAIL\n  - " + "\n  - ".join(failures)))
    return 0 if not failures else 1
