"""``make bench``: Portcullis against untouched django-oauth-toolkit and oidc-provider, in one run.

Both Django projects run on the same serving stack (``--stack``: gunicorn's sync or gthread
workers, gunicorn with uvicorn's ASGI workers, granian, or sync workers behind HAProxy) with the same settings against
PostgreSQL, each on a database of its own (``portcullis_bench``, ``portcullis_bench_baseline``,
recreated every run); the peer, panva's oidc-provider, runs under Node's cluster module. wrk drives
each scenario for a fixed time, in rounds that alternate the servers so that a busy machine slows
all alike; figures are medians over the rounds. With ``--scale``, a third database
(``portcullis_bench_scale``) is seeded by ``python -m tests.tools.seed_scale`` and the token scenarios run
alternately on the empty and the seeded database. ``--compare-stacks`` instead runs the hello view,
strict client credentials and introspection on every stack at once, alternating between them.

Prints a table and writes every figure to tests/bench/results.json. Exit status: 0 when every
target holds, 1 when one does not, 2 when a scenario got wrong answers (the figures are then void).
"""

import argparse
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import machine, report
from tests.bench.load import Measurement, run_wrk
from tests.bench.peer import start_peer
from tests.bench.scenarios import Scenario, baseline_scenarios, peer_scenarios, portcullis_scenarios
from tests.bench.servers import (
    BASELINE,
    PROJECT,
    PROXIED,
    STACKS,
    UPSTREAM_PORT_OFFSET,
    Server,
    portcullis_environment,
    server_command,
    stack_env,
    start,
    start_proxy,
)

RESULTS = Path(__file__).resolve().parent / "results.json"


class VoidRun(Exception):
    """A scenario got wrong answers: none of its figures mean anything."""


SCALE_SIZES = {"apps": 100_000, "client-grants": 200_000, "user-grants": 1_000_000, "tokens": 1_000_000}
SCALE_SCENARIOS = ("client_credentials_strict", "introspection", "code_exchange")
PERSISTENT_DOT = "dot_client_credentials_persistent"
PEER = "oidc_provider_client_credentials"
STACK_SCENARIOS = ("client_credentials_strict", "introspection")
# Ports above --port: the DOT servers at +1 and +2, the at-scale Portcullis at +3, the peer at +4;
# with --compare-stacks, each stack's Portcullis and baseline from +10 on, two ports a stack.
PEER_PORT, STACK_PORTS = 4, 10


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=int(env("BENCH_DURATION", "8")), help="seconds per run")
    parser.add_argument("--warmup", type=int, default=int(env("BENCH_WARMUP", "3")), help="seconds, not measured")
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "8")))
    parser.add_argument("--threads", type=int, default=int(env("BENCH_THREADS", "2")), help="wrk threads")
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "4")), help="server workers")
    parser.add_argument(
        "--stack",
        choices=STACKS,
        default=env("BENCH_STACK", "sync"),
        help="how the Django projects are served: gunicorn sync workers (Connection: close), gunicorn gthread "
        "workers (keep-alive), gunicorn with uvicorn's ASGI workers, granian's WSGI interface, or sync workers "
        "behind HAProxy (keep-alive to the client, a connection per request to the workers)",
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=int(env("BENCH_SERVER_THREADS", "2")),
        help="threads per worker: gthread's --threads, granian's --blocking-threads",
    )
    parser.add_argument(
        "--compare-stacks",
        action="store_true",
        default=env("BENCH_COMPARE_STACKS", "") not in ("", "0"),
        help="run the hello view, strict client credentials and introspection on every stack, alternating",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=float(env("BENCH_SCALE", "0")),
        help="0: no at-scale run; 1: the full sizes (100k apps, 200k client grants, 1M consents, 1M tokens); "
        "0.1: a tenth of them",
    )
    parser.add_argument(
        "--only",
        default=env("BENCH_ONLY", ""),
        help="comma-separated Portcullis scenarios to run (with their baselines), e.g. introspection",
    )
    parser.add_argument("--port", type=int, default=int(env("BENCH_PORT", "18000")))
    parser.add_argument(
        "--database-server",
        default=env("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL; the benchmark's databases are created there",
    )
    parser.add_argument(
        "--cache-url",
        default=env("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14"),
        help="Portcullis' CACHE_URL (a Redis database of its own)",
    )
    parser.add_argument(
        "--codes-per-second",
        type=int,
        default=int(env("BENCH_CODES_PER_SECOND", "2000")),
        help="authorization codes made per second of a code exchange run (more than it can use)",
    )
    return parser.parse_args()


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="portcullis-bench-"))
        self.secret_key = secrets.token_urlsafe(50)
        self.servers: dict[str, Server] = {}
        self.tenants: dict[str, dict] = {}
        self.runs: dict[str, list[Measurement]] = {}
        self.code_files = 0

    # -- setup --------------------------------------------------------------------------------------

    def portcullis_env(self, database_url: str, port: int) -> dict[str, str]:
        return portcullis_environment(
            database_url, secret_key=self.secret_key, issuer=f"http://127.0.0.1:{port}", cache_url=self.args.cache_url
        )

    def baseline_env(self, database_url: str) -> dict[str, str]:
        return {"DATABASE_URL": database_url, "SECRET_KEY": self.secret_key}

    def django(self, arguments: list[str], *, env: dict, cwd: Path, capture: bool = False) -> str:
        done = subprocess.run(
            [sys.executable, *arguments],
            cwd=cwd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{shlex.join(arguments)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def prepare_portcullis(self, name: str, database: str, port: int) -> dict:
        """Its database, migrated, with the benchmark tenant; returns the server's environment."""
        url = machine.recreate_database(self.args.database_server, database)
        env = self.portcullis_env(url, port)
        self.django(["manage.py", "migrate", "--no-input", "-v", "0"], env=env, cwd=PROJECT)
        tenant = json.loads(self.django(["tests/bench/portcullis_fixtures.py", "tenant"], env=env, cwd=PROJECT))
        self.tenants[name] = {**tenant, "env": env, "database": database}
        return env

    def start_django(self, name: str, tenant: str, stack: str, port: int, extra_env: dict | None = None) -> None:
        """Portcullis (tenant "portcullis" or "scale") or the baseline, served by ``stack`` on ``port``
        (a proxied stack: the proxy there, the server ``UPSTREAM_PORT_OFFSET`` above)."""
        portcullis = tenant != "baseline"
        ready_path = "/.well-known/jwks.json" if portcullis else "/hello"
        server_port = port + UPSTREAM_PORT_OFFSET if stack in PROXIED else port
        server = start(
            name=f"{name}-upstream" if stack in PROXIED else name,
            command=server_command(
                stack,
                "portal" if portcullis else "baseline_project",
                server_port,
                self.args.workers,
                self.args.server_threads,
            ),
            cwd=PROJECT if portcullis else BASELINE,
            env={**self.tenants[tenant]["env"], **(extra_env or {}), **stack_env(stack)},
            port=server_port,
            workers=self.args.workers,
            database=self.tenants[tenant]["database"],
            log_dir=self.workdir,
            ready_path=ready_path,
        )
        if stack in PROXIED:
            server = start_proxy(name=name, port=port, upstream=server, log_dir=self.workdir, ready_path=ready_path)
        self.servers[name] = server

    def start_portcullis(self, name: str, port: int) -> None:
        self.start_django(name, name, self.args.stack, port)

    def prepare(self) -> None:
        args = self.args
        machine.log("Preparing the databases (portcullis_bench, portcullis_bench_baseline)")
        env = self.prepare_portcullis("portcullis", "portcullis_bench", args.port)
        # Production settings serve static files through the manifest: collect them once.
        self.django(["manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, cwd=PROJECT)
        url = machine.recreate_database(args.database_server, "portcullis_bench_baseline")
        env = self.baseline_env(url)
        self.django(["manage.py", "migrate", "--no-input", "-v", "0"], env=env, cwd=BASELINE)
        tenant = json.loads(self.django(["fixtures.py", "tenant"], env=env, cwd=BASELINE))
        self.tenants["baseline"] = {**tenant, "env": env, "database": "portcullis_bench_baseline"}

    def setup(self) -> None:
        args = self.args
        self.prepare()
        machine.log(f"Starting Portcullis and DOT ({args.workers} workers each, {report.stack_label(vars(args))})")
        self.start_portcullis("portcullis", args.port)
        # Untouched DOT as startproject configures it, and the same keeping its database connections.
        self.start_django("baseline", "baseline", args.stack, args.port + 1)
        self.start_django(
            "baseline_persistent", "baseline", args.stack, args.port + 2, {"BASELINE_CONN_MAX_AGE": "600"}
        )
        machine.log("Starting the peer, oidc-provider (Node's cluster, one worker per core)")
        self.servers["oidc_provider"], self.tenants["oidc_provider"] = start_peer(
            port=args.port + PEER_PORT, log_dir=self.workdir
        )

    def codes_for(self, server: str, seconds: int) -> str:
        """A file of unused authorization codes for one run on ``server``."""
        tenant = self.tenants[server]
        self.code_files += 1
        path = self.workdir / f"codes-{server}-{self.code_files}.txt"
        count = str(seconds * self.args.codes_per_second)
        if server == "baseline":
            arguments = ["fixtures.py", "codes", str(path), count, tenant["first_code"]]
            self.django(arguments, env=tenant["env"], cwd=BASELINE)
        else:
            arguments = ["tests/bench/portcullis_fixtures.py", "codes", str(path), count, tenant["first_code"]]
            self.django(arguments, env=tenant["env"], cwd=PROJECT)
        return str(path)

    # -- measuring ----------------------------------------------------------------------------------

    def run(self, scenario: Scenario, server: str, seconds: int) -> Measurement:
        codes = self.codes_for(server, seconds) if scenario.uses_codes else ""
        measurement = run_wrk(
            scenario,
            self.servers[server],
            seconds=seconds,
            connections=self.args.connections,
            threads=self.args.threads,
            database_server_url=self.args.database_server,
            codes_file=codes,
        )
        if measurement.failures:
            log = self.servers[server].log
            raise VoidRun(
                f"{scenario.key} on {server}: {measurement.failures} of {measurement.requests} requests failed "
                f"({measurement.failure_kinds}; bad: a wrong status or answer, the rest: socket errors); "
                f"its figures would be void. Server log: {log}"
            )
        return measurement

    def measure(self, plan: list[tuple[str, Scenario, str]]) -> None:
        """``plan``: (result key, scenario, server). Warm up each once, then alternate them in rounds."""
        args = self.args
        for key, scenario, server in plan:
            self.run(scenario, server, args.warmup)
            self.runs.setdefault(key, [])
        for round_ in range(1, args.rounds + 1):
            machine.log(f"Round {round_} of {args.rounds} (load average {machine.load_average()[0]:.2f})")
            for key, scenario, server in plan:
                measurement = self.run(scenario, server, args.duration)
                self.runs[key].append(measurement)
                print(f"    {key:<40} {measurement.rps:8.0f} req/s  p50 {measurement.p50_ms:6.2f} ms", flush=True)

    def main_plan(self) -> list[tuple[str, Scenario, str]]:
        baseline = {s.key: s for s in baseline_scenarios(self.tenants["baseline"])}
        plan = [("hello", baseline["hello"], "baseline")]
        plan += [(s.key, s, "oidc_provider") for s in peer_scenarios(self.tenants["oidc_provider"])]
        only = {key for key in self.args.only.split(",") if key}
        for scenario in portcullis_scenarios(self.tenants["portcullis"]):
            if only and scenario.key not in only:
                continue
            if (scenario.twin, baseline[scenario.twin], "baseline") not in plan:
                plan.append((scenario.twin, baseline[scenario.twin], "baseline"))
                if scenario.twin == "dot_client_credentials":
                    persistent = replace(
                        baseline[scenario.twin],
                        key=PERSISTENT_DOT,
                        label="DOT client credentials, persistent connections",
                    )
                    plan.append((PERSISTENT_DOT, persistent, "baseline_persistent"))
            plan.append((scenario.key, scenario, "portcullis"))
        return plan

    # -- at scale -----------------------------------------------------------------------------------

    def seed_scale(self) -> dict:
        sizes = {name: max(1, round(size * self.args.scale)) for name, size in SCALE_SIZES.items()}
        env = self.prepare_portcullis("scale", "portcullis_bench_scale", self.args.port + 3)
        arguments = [sys.executable, "-m", "tests.tools.seed_scale", "--yes", "--skip-checks"]
        arguments += [f"--{name}={value}" for name, value in sizes.items()]
        machine.log(f"Seeding portcullis_bench_scale: {shlex.join(arguments[2:])}")
        started = time.monotonic()
        process = subprocess.Popen(arguments, cwd=PROJECT, env={**os.environ, **env})
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit("seed_scale failed")
        return {
            "sizes": {name.replace("-", "_"): value for name, value in sizes.items()},
            "seconds": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "command": shlex.join(["python", *arguments[1:]]),
        }

    def scale_plan(self) -> list[tuple[str, Scenario, str]]:
        empty = {s.key: s for s in portcullis_scenarios(self.tenants["portcullis"])}
        seeded = {s.key: s for s in portcullis_scenarios(self.tenants["scale"])}
        plan = []
        for key in SCALE_SCENARIOS:
            plan.append((f"{key}@empty", empty[key], "portcullis"))
            plan.append((f"{key}@scale", seeded[key], "scale"))
        return plan

    # -- the stacks compared ------------------------------------------------------------------------

    def setup_stacks(self) -> None:
        self.prepare()
        machine.log(f"Starting Portcullis and the hello view on every stack ({', '.join(STACKS)})")
        for index, stack in enumerate(STACKS):
            port = self.args.port + STACK_PORTS + 2 * index
            self.start_django(f"portcullis@{stack}", "portcullis", stack, port)
            self.start_django(f"baseline@{stack}", "baseline", stack, port + 1)

    def stacks_plan(self) -> list[tuple[str, Scenario, str]]:
        hello = next(s for s in baseline_scenarios(self.tenants["baseline"]) if s.key == "hello")
        ours = {s.key: s for s in portcullis_scenarios(self.tenants["portcullis"])}
        plan = []
        for stack in STACKS:
            plan.append((f"hello@{stack}", hello, f"baseline@{stack}"))
            plan += [(f"{key}@{stack}", ours[key], f"portcullis@{stack}") for key in STACK_SCENARIOS]
        return plan

    def compare_stacks(self) -> int:
        started = time.monotonic()
        load_before = machine.load_average()
        try:
            self.setup_stacks()
            self.measure_announced()
            self.measure(self.stacks_plan())
            memory = {name: server.worker_rss_mb() for name, server in self.servers.items()}
        finally:
            for server in self.servers.values():
                server.stop()
        results = report.build_stacks(
            scenarios={key: self.summary(runs) for key, runs in self.runs.items()},
            stacks=STACKS,
            keys=("hello", *STACK_SCENARIOS),
            labels={s.key: s.label for s in portcullis_scenarios(self.tenants["portcullis"])},
            memory=memory,
            settings=self.settings(load_before, started),
        )
        return self.write(results, report.stacks_table(results), status=0)

    # -- the whole run ------------------------------------------------------------------------------

    def measure_announced(self) -> None:
        args = self.args
        machine.log(
            f"Measuring: {args.rounds} rounds of {args.duration} s per scenario after {args.warmup} s of warm-up; "
            f"wrk {args.threads} threads, {args.connections} connections"
        )

    def settings(self, load_before, started: float) -> dict:
        args = self.args
        return {
            **{name: value for name, value in vars(args).items() if name != "database_server"},
            "server": report.stack_label(vars(args)),
            "cpus": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in machine.load_average()],
            "seconds": round(time.monotonic() - started),
            "command": shlex.join(sys.argv),
        }

    def write(self, results: dict, table: str, *, status: int) -> int:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(table)
        print(f"\nEvery figure is in {RESULTS.relative_to(PROJECT)}.")
        return status

    def summary(self, runs: list[Measurement]) -> dict:
        return {
            "rps": round(statistics.median(m.rps for m in runs), 1),
            "p50_ms": round(statistics.median(m.p50_ms for m in runs), 2),
            "p90_ms": round(statistics.median(m.p90_ms for m in runs), 2),
            "p99_ms": round(statistics.median(m.p99_ms for m in runs), 2),
            "server_cpu_ms_per_request": round(
                sum(m.server_cpu_ms * m.requests for m in runs) / max(1, sum(m.requests for m in runs)), 3
            ),
            "requests": sum(m.requests for m in runs),
            "rounds": [{"rps": round(m.rps, 1), "p50_ms": m.p50_ms, "p99_ms": m.p99_ms} for m in runs],
        }

    def execute(self) -> int:
        args = self.args
        started = time.monotonic()
        load_before = machine.load_average()
        try:
            self.setup()
            self.measure_announced()
            self.measure(self.main_plan())
            memory = {name: server.worker_rss_mb() for name, server in self.servers.items()}
            scale = None
            if args.scale > 0:
                scale = self.seed_scale()
                self.start_portcullis("scale", args.port + 3)
                self.measure(self.scale_plan())
                memory["scale"] = self.servers["scale"].worker_rss_mb()
                memory["portcullis"] = self.servers["portcullis"].worker_rss_mb()
        finally:
            for server in self.servers.values():
                server.stop()
        results = report.build(
            scenarios={key: self.summary(runs) for key, runs in self.runs.items()},
            labels={key: scenario.label for key, scenario, _ in self.main_plan()},
            twins={s.key: s.twin for s in portcullis_scenarios(self.tenants["portcullis"])},
            peer=PEER,
            memory=memory,
            scale=scale,
            settings=self.settings(load_before, started),
        )
        met = all(target["met"] for target in results["targets"])
        return self.write(results, report.table(results), status=0 if met else 1)


def main() -> int:
    args = parse_args()
    machine.ensure_packages()
    machine.ensure_services()
    try:
        bench = Bench(args)
        return bench.compare_stacks() if args.compare_stacks else bench.execute()
    except VoidRun as void:
        print(f"\nBenchmark void: {void}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
