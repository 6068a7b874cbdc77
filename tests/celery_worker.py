"""A real Celery worker for the tests that need one (pytest plugin, loaded by tests/conftest.py).

When ``CELERY_BROKER_URL`` is set (as in CI), the ``celery_worker`` fixture starts one worker
process for the session, pointed at the pytest-django test database, and stops it at the end.
Tasks enqueued by a test then travel through the broker and run in that process, exactly as in
production; tests using it need ``@pytest.mark.django_db(transaction=True)`` so that the worker
sees committed rows. Without a broker the fixture yields None and tasks run eagerly in the test
process (``CELERY_TASK_ALWAYS_EAGER`` is derived from the broker setting).

Tests marked ``@pytest.mark.celery_worker`` get the fixture without asking for it. Use
``wait_for`` to poll for a task's effect: immediately true in eager mode, bounded otherwise.

The worker consumes the default queue of the test broker, which is purged before it starts:
give test runs a broker database of their own (CI uses ``redis://127.0.0.1:6379/15``).
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from amqp.exceptions import ChannelError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = float(os.environ.get("CELERY_WORKER_START_TIMEOUT", "60"))
STOP_TIMEOUT_SECONDS = 10
WORKER_ARGS = ["-m", "celery", "-A", "portal", "worker", "-P", "solo", "-c", "1", "-l", "info"]
WORKER_ARGS += ["--without-heartbeat", "--without-gossip", "--without-mingle"]


def wait_for(predicate, timeout: float = 15, interval: float = 0.1, message: str = ""):
    """Call ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"Condition not met within {timeout} s{': ' + message if message else ''}")
        time.sleep(interval)


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    nodename: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


def _worker_database_url(settings_dict: dict) -> str:
    """DATABASE_URL for the worker: the configured one, with the test database's name."""
    name = settings_dict["NAME"]
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        if not name or name == ":memory:" or str(name).startswith("file:memorydb"):
            pytest.fail(
                "A real Celery worker cannot share an in-memory SQLite test database: set DATABASE_URL "
                "to PostgreSQL (postgres://…) when CELERY_BROKER_URL is set."
            )
        return f"sqlite:///{name}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _purge(app, queue: str) -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        conn.default_channel.queue_purge(queue)


def _wait_until_ready(app, worker: CeleryWorker) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"The Celery worker exited with status {worker.process.returncode} before answering a ping:\n"
                f"{worker.log_tail()}"
            )
        if app.control.ping(destination=[worker.nodename], timeout=0.5):
            return
    pytest.fail(f"The Celery worker did not answer a ping within {START_TIMEOUT_SECONDS:.0f} s:\n{worker.log_tail()}")


def _stop(worker: CeleryWorker) -> None:
    if worker.process.poll() is not None:
        return
    worker.process.terminate()  # SIGTERM: warm shutdown, the current task finishes first
    try:
        worker.process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait(STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, smtp_server, tmp_path_factory):
    """A running worker bound to the test database, or None when tasks run eagerly."""
    from django.conf import settings
    from django.db import connection

    if not settings.CELERY_BROKER_URL:
        yield None
        return

    from portal.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": _worker_database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        # Mail sent by tasks goes to the tests' own SMTP server (tests/smtp.py).
        "EMAIL_URL": smtp_server.url,
        "PYTHONUNBUFFERED": "1",
    }
    _purge(app, app.conf.task_default_queue)
    nodename = f"pytest-{os.getpid()}@{socket.gethostname()}"
    log_path = tmp_path_factory.getbasetemp() / "celery-worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *WORKER_ARGS, "-n", nodename],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = CeleryWorker(process, nodename, log_path)
    try:
        _wait_until_ready(app, worker)
        yield worker
    finally:
        # Before pytest-django drops the test database, which the worker holds a connection to.
        _stop(worker)


def wait_until_idle(worker: CeleryWorker, timeout: float = 30) -> None:
    """Until the queue is empty and the worker runs nothing: a task still writing while the test
    database is flushed would deadlock with the flush, or write into the next test."""
    from portal.celery import app

    def waiting() -> int:
        with app.connection_for_write() as conn:
            try:
                return conn.default_channel.queue_declare(app.conf.task_default_queue, passive=True).message_count
            except ChannelError:  # the broker drops an empty queue: nothing is waiting
                return 0

    def idle():
        if waiting():
            return False
        inspect = app.control.inspect(destination=[worker.nodename], timeout=1)
        busy = (inspect.active() or {}).get(worker.nodename, []) + (inspect.reserved() or {}).get(worker.nodename, [])
        return not busy

    wait_for(idle, timeout=timeout, interval=0.2, message=f"the worker did not finish its tasks:\n{worker.log_tail()}")


@pytest.fixture(autouse=True)
def _celery_worker_for_marked_tests(request):
    """``@pytest.mark.celery_worker`` tests get the worker without naming the fixture, and end only
    once it has finished what they enqueued."""
    worker = None
    if request.node.get_closest_marker("celery_worker"):
        worker = request.getfixturevalue("celery_worker")
    yield
    if worker is not None:
        wait_until_idle(worker)
