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
    upstream: "Server | None" = None  # behind a proxy: the server it forwards to, stopped with it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self, backends: list[int]) -> float:
        """CPU used so far by the workers and by the PostgreSQL processes serving them."""
        return cpu_seconds(self.workers) + cpu_seconds(backends)

    def worker_rss_mb(self) -> list[float]:
        return [round(rss_mb(pid), 1) for pid in self.workers]

    def stop(self) -> None:
        if self.upstream is not None:
            self.upstream.stop()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a graceful shutdown for each of them
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


STACKS = ("sync", "gthread", "uvicorn", "granian", "haproxy")
# ``haproxy``: gunicorn's sync workers behind HAProxy, which keeps the clients' connections open and
# opens one to a worker per request, as a load balancer in front of a sync deployment does.
PROXIED = {"haproxy": "sync"}
PROXY_BINARY = "/usr/sbin/haproxy"
UPSTREAM_PORT_OFFSET = 100  # a proxied stack's server listens this far above the proxy's port


def server_command(stack: str, project: str, port: int, workers: int, threads: int) -> list[str]:
    """The one set of server settings every Django project of the run gets, on ``stack``.

    ``sync``: gunicorn's sync workers, one request at a time and ``Connection: close`` on every
    answer. ``gthread``: gunicorn's threaded workers, keep-alive. ``uvicorn``: gunicorn running
    uvicorn's worker class over the project's ASGI application. ``granian``: granian's WSGI
    interface, its own workers and blocking threads. ``project`` is the package holding
    ``wsgi.py`` and ``asgi.py``.
    """
    bind = f"127.0.0.1:{port}"
    stack = PROXIED.get(stack, stack)
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
    await_ready(server, ready_path, 60, lambda: len(children(process.pid)) >= workers)
    server.workers = children(process.pid)
    return server


def await_ready(server: Server, ready_path: str, seconds: float, ready=lambda: True) -> None:
    """Return once ``ready_path`` answers 200 and ``ready()`` holds; stop ``server`` and exit if its
    process ends first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.stop()
            raise SystemExit(f"{server.name} did not start: see {server.log}\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=5) as response:  # noqa: S310 (loopback)
                if response.status == 200 and ready():
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(
        f"{server.name} did not answer on {server.url}{ready_path} within {seconds:.0f} s: see {server.log}"
    )


def proxy_config(port: int, upstream_port: int) -> str:
    """HAProxy in HTTP mode, keep-alive on the client side, as a deployment's load balancer is set."""
    return (
        "global\n    maxconn 2000\n"
        "defaults\n    mode http\n    option http-keep-alive\n"
        "    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n"
        f"frontend bench\n    bind 127.0.0.1:{port}\n    default_backend app\n"
        f"backend app\n    server app 127.0.0.1:{upstream_port}\n"
    )


def start_proxy(*, name: str, port: int, upstream: Server, log_dir: Path, ready_path: str) -> Server:
    """HAProxy on ``port`` in front of ``upstream``. The Server it returns counts the CPU of both
    (HAProxy's process and the upstream's workers) and stops both."""
    if not Path(PROXY_BINARY).exists():
        upstream.stop()
        raise SystemExit("BENCH_STACK=haproxy needs HAProxy: apt-get install haproxy")
    config = log_dir / f"{name}.haproxy.cfg"
    config.write_text(proxy_config(port, upstream.port))
    log = log_dir / f"{name}.log"
    process = subprocess.Popen(
        [PROXY_BINARY, "-db", "-f", str(config)], stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    proxy = Server(name, port, upstream.database, process, log, [process.pid, *upstream.workers], upstream)
    await_ready(proxy, ready_path, 30)
    return proxy


def portcullis_environment(database_url: str, *, secret_key: str, issuer: str, cache_url: str) -> dict[str, str]:
    """Portcullis' production settings for a measurement, on ``database_url``."""
    return {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secret_key,
        "PORTCULLIS_ISSUER": issuer,
        "CACHE_URL": cache_url,
        "CELERY_BROKER_URL": "",  # nothing the scenarios do enqueues a task
        "LOG_LEVEL": "WARNING",
        # Connections kept through a whole run, so the CPU their server processes use is all counted.
        "DATABASE_CONN_MAX_AGE": "600",
        # Every request is still counted by the rate limiter (its cache round trips are part of
        # the cost measured); the limits sit above what the load generator sends, as for clients
        # provisioned for this traffic.
        "RATE_LIMIT_TOKEN": "1000000/s",
        "RATE_LIMIT_LOGIN_ADDRESS": "1000000/s",
    }
