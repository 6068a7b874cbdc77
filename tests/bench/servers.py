"""The servers under test: the Django projects on one serving stack with the same settings, and the peer."""

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
    database: str  # its database's name, to find the PostgreSQL processes serving it ("" for none)
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
            self.process.send_signal(signal.SIGTERM)  # a graceful shutdown for each of them
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


STACKS = ("sync", "gthread", "uvicorn", "granian")


def server_command(stack: str, project: str, port: int, workers: int, threads: int) -> list[str]:
    """The one set of server settings every Django project of the run gets, on ``stack``.

    ``sync``: gunicorn's sync workers, one request at a time and ``Connection: close`` on every
    answer. ``gthread``: gunicorn's threaded workers, keep-alive. ``uvicorn``: gunicorn running
    uvicorn's worker class over the project's ASGI application. ``granian``: granian's WSGI
    interface, its own workers and blocking threads. ``project`` is the package holding
    ``wsgi.py`` and ``asgi.py``.
    """
    bind = f"127.0.0.1:{port}"
    if stack == "granian":
        return [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", f"{project}.wsgi:application"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--blocking-threads", str(threads), "--log-level", "warning"),
        ]
    worker_class = {"sync": ["sync"], "gthread": ["gthread", "--threads", str(threads)]}.get(stack)
    interface = "wsgi"
    if stack == "uvicorn":
        worker_class, interface = ["uvicorn.workers.UvicornWorker"], "asgi"
    if worker_class is None:
        raise SystemExit(f"Unknown stack {stack!r}: one of {', '.join(STACKS)}.")
    return [
        *(sys.executable, "-m", "gunicorn", f"{project}.{interface}:application", "--bind", bind),
        *("--workers", str(workers), "--worker-class", *worker_class),
        *("--timeout", "60", "--log-level", "warning"),
    ]


def stack_env(stack: str) -> dict[str, str]:
    """What a stack changes in the projects' environment.

    Under ASGI, Django keeps a connection per request context rather than per thread, so persistent
    connections pile up until PostgreSQL refuses more; Django's documentation says to turn them off
    there (and to pool instead, which the projects' settings do not configure).
    """
    if stack == "uvicorn":
        return {"DATABASE_CONN_MAX_AGE": "0", "BASELINE_CONN_MAX_AGE": "0"}
    return {}


def start(
    *,
    name: str,
    command: list[str],
    cwd: Path,
    env: dict,
    port: int,
    workers: int,
    database: str,
    log_dir: Path,
    ready_path: str,
) -> Server:
    """Start ``command``, wait until ``ready_path`` answers 200 and ``workers`` children run."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"Port {port} is taken: stop what listens there or pass --port (make bench BENCH_PORT=...)."
            )
    log = log_dir / f"{name}.log"
    process = subprocess.Popen(
        command,
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
