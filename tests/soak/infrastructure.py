"""The soak's own services, all on loopback and all thrown away afterwards: a PostgreSQL cluster
(initdb into a temporary directory, on a free port: never the machine's shared server), a Redis
server, an SMTP sink, the web server (gunicorn) and a Celery worker."""

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ThrowawayPostgres:
    """``initdb`` a cluster of our own with Debian's binaries; start, stop and restart only it."""

    def __init__(self, root: Path):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not versions:
            raise RuntimeError("PostgreSQL's server binaries are missing: apt-get install postgresql")
        self.bin = Path(versions[-1])
        self.data = root / "pgdata"
        self.port = free_port()
        self.log = root / "postgres.log"
        # initdb refuses to run as root: the cluster then belongs to the postgres account.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args, check=True):
        return subprocess.run([*self.as_user, *args], check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        self.log.touch()
        if self.as_user:
            shutil.chown(self.data, "postgres", "postgres")
            shutil.chown(self.log, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portcullis")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/portcullis"


class ThrowawayRedis:
    def __init__(self, root: Path):
        self.port = free_port()
        self.process = None
        self.root = root

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until("Redis", lambda: port_open(self.port), 20)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        stop(self.process)


@dataclass
class SmtpSink:
    """Receives what Portcullis sends. Messages whose subject starts with ``slow_prefix`` are held
    ``hold_seconds`` before the server answers the end of DATA; a message whose sender hung up
    before that answer was never delivered (RFC 5321 §4.1.1.4) and is not counted."""

    slow_prefix: str = "[slow]"
    hold_seconds: float = 6.0
    port: int = field(default_factory=free_port)
    delivered: list = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    held: int = 0  # slow deliveries started
    completed: int = 0  # slow deliveries answered 250

    @property
    def abandoned(self) -> int:
        """Deliveries whose sender hung up before the server's answer: not delivered."""
        return self.held - self.completed

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
                if str(message["Subject"]).startswith(sink.slow_prefix):
                    sink.held += 1
                    sink.holding.set()
                    # When the sender dies, aiosmtpd cancels this coroutine: it never gets further.
                    await asyncio.sleep(sink.hold_seconds)
                    if server.transport is None or server.transport.is_closing():
                        return "421 Sender gone"
                    sink.completed += 1
                sink.delivered.append(message)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def count(self, message_id: str) -> int:
        return sum(1 for message in self.delivered if message["Message-ID"] == message_id)

    def stop(self) -> None:
        self.controller.stop()


class Process:
    """A child process (gunicorn, a Celery worker) with its log in the soak's directory."""

    def __init__(self, name: str, args: list[str], env: dict, root: Path):
        self.name, self.args, self.env = name, args, env
        self.log_path = root / f"{name}.log"
        self.process = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open by the child)
        self.process = subprocess.Popen(
            self.args,
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no warm shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        stop(self.process, group=True)


def stop(process, group: bool = False) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
        process.wait(15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()


def temporary_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="portcullis-soak-"))
    root.chmod(0o755)  # the postgres account must reach its data directory inside
    return root


def python() -> str:
    return sys.executable
