"""Running one scenario with wrk, bounded in time, and reading what it measured."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.bench.machine import backend_pids
from tests.bench.scenarios import Scenario
from tests.bench.servers import Server

SCRIPT = Path(__file__).resolve().parent / "lua" / "scenario.lua"
MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    failures: int  # wrong answers, socket errors and requests left without a code
    failure_kinds: str  # what the failures were, e.g. "bad 1, read 2"
    server_cpu_ms: float  # per request: the server's workers plus the PostgreSQL processes serving them

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    scenario: Scenario,
    server: Server,
    *,
    seconds: int,
    connections: int,
    threads: int,
    database_server_url: str,
    codes_file: str = "",
) -> Measurement:
    backends = backend_pids(database_server_url, server.database) if server.database else []
    cpu_before = server.cpu_seconds(backends)
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        server.url,
    ]
    env = {**os.environ, **scenario.environment(threads, codes_file)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu = server.cpu_seconds(backends) - cpu_before
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed on {scenario.key}: {done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1][len(MARKER) :])
    errors = result["errors"]
    failures = result["bad"] + result["exhausted"] + errors["connect"] + errors["read"] + errors["write"]
    failures += errors["timeout"]
    kinds = {"bad": result["bad"], "exhausted": result["exhausted"], **errors}
    kinds.pop("status")  # wrk's own count of statuses >= 400: "bad" already counts every unexpected one
    requests = result["requests"]
    return Measurement(
        requests=requests,
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p90_ms=result["p90_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        failures=failures,
        failure_kinds=", ".join(f"{kind} {count}" for kind, count in kinds.items() if count),
        server_cpu_ms=cpu * 1000 / requests if requests else 0.0,
    )
