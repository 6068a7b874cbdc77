"""The two servers under test, both under gunicorn with the same settings."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.machine import children, cpu_seconds, rss_mb

PROJECT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).resolve().parent / "baseline"


@dataclass
class Server:
    name: str
    port: int
    database: str  # its database's name, to find the PostgreSQL processes serving it
    process: subprocess.Popen
    log: Path
    workers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self, backends: list[int]) -> float:
        """CPU used so far by the workers and by the PostgreSQL processes serving them."""
        return cpu_seconds(self.workers) + cpu_seconds(backends)

    def worker_rss_mb(self) -> list[float]:
        return [round(rss_mb(pid), 1) for pid in self.workers]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def gunicorn_command(app: str, port: int, workers: int) -> list[str]:
    """The one set of server settings both projects run with."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]


def start(
    *, name: str, app: str, cwd: Path, env: dict, port: int, workers: int, database: str, log_dir: Path, ready_path: str
) -> Server:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"Port {port} is taken: stop what listens there or pass --port (make bench BENCH_PORT=...)."
            )
    log = log_dir / f"{name}.log"
    process = subprocess.Popen(
        gunicorn_command(app, port, workers),
        cwd=cwd,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, port, database, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} did not start: see {log}\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=5) as response:  # noqa: S310 (loopback)
                if response.status == 200 and len(children(process.pid)) >= workers:
                    server.workers = children(process.pid)
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"{name} did not answer on {server.url}{ready_path} within 60 s: see {log}")
