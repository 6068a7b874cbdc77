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
        self.as_user = as_postgres_account()

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


def gunicorn(port: int, workers: int = 3) -> list[str]:
    """The command line of one web node (gthread workers, as deployed)."""
    return [
        python(),
        "-m",
        "gunicorn",
        "portal.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]


def as_postgres_account() -> list[str]:
    """PostgreSQL's tools and PgBouncer refuse to run as root: then they run as postgres."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PgBouncer:
    """Debian's PgBouncer in transaction mode in front of the throwaway cluster, on a free port."""

    binary = "/usr/sbin/pgbouncer"

    def __init__(self, root: Path, postgres: ThrowawayPostgres, pool_size: int = 40):
        self.root, self.postgres, self.pool_size = root, postgres, pool_size
        self.port = free_port()
        self.process = None

    def start(self) -> None:
        userlist = self.root / "pgbouncer-users.txt"
        userlist.write_text('"postgres" ""\n')
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"portcullis = host=127.0.0.1 port={self.postgres.port} dbname=portcullis user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {userlist}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 1000\n"
            # Parameters libpq may send at startup that PgBouncer does not track itself.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in (userlist, ini):
            path.chmod(0o644)
        log = open(self.root / "pgbouncer.log", "ab")  # noqa: SIM115  (kept open by the child)
        self.process = subprocess.Popen(
            [*as_postgres_account(), self.binary, str(ini)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_until("PgBouncer", lambda: port_open(self.port), 20)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/portcullis"

    def stop(self) -> None:
        stop(self.process)


class HAProxy:
    """Debian's HAProxy on a loopback port, round robin over the nodes, health-checked on the
    JWKS (a node that cannot read its database or keys answers it with an error)."""

    binary = "/usr/sbin/haproxy"

    def __init__(self, root: Path, node_ports: list[int]):
        self.root, self.node_ports = root, node_ports
        self.port = free_port()
        self.socket = root / "haproxy.sock"
        self.process = None

    def config(self) -> str:
        servers = "".join(
            f"    server node{n} 127.0.0.1:{port} check\n" for n, port in enumerate(self.node_ports, start=1)
        )
        return (
            "global\n"
            "    maxconn 2000\n"
            # One line per request in haproxy.log (stdout), with how each one ended.
            "    log stdout format raw local0\n"
            f"    stats socket {self.socket} mode 600 level admin\n"
            "defaults\n"
            "    mode http\n"
            "    log global\n"
            "    option httplog\n"
            "    timeout connect 2s\n"
            "    timeout client 30s\n"
            "    timeout server 30s\n"
            "    option http-keep-alive\n"
            # A request whose connection to a node failed never reached it: safe to send elsewhere,
            # whatever its method. An empty answer may mean a POST that ran and died before replying:
            # only a GET (or HEAD) is retried then; a registration or a token request never is.
            "    retries 1\n"
            "    option redispatch\n"
            "    retry-on conn-failure empty-response\n"
            "frontend portcullis\n"
            f"    bind 127.0.0.1:{self.port}\n"
            "    default_backend nodes\n"
            "backend nodes\n"
            "    balance roundrobin\n"
            # A new connection to the node for every request, closed after the answer (the client's
            # own connection is still kept alive). A kept-alive one races the node's closing it: a
            # gunicorn node closes a connection idle for its keep-alive (2 s) even when a request
            # has just arrived on it, and a request HAProxy sent on a reused connection that then
            # closed unanswered is not answered 502 nor logged: HAProxy closes the client's
            # connection for the client to retry, which a client must not do with a POST. A new
            # connection to a dead node is refused instead, and retried on another one (below).
            "    option http-server-close\n"
            "    http-request disable-l7-retry unless METH_GET\n"
            "    option httpchk\n"
            "    http-check send meth GET uri /.well-known/jwks.json ver HTTP/1.1 hdr Host 127.0.0.1\n"
            "    http-check expect status 200\n"
            "    default-server inter 1s fall 2 rise 2\n"
            # A dead node refuses the check's connection at once (out after two checks, ~2 s); a
            # live one under load may take a few seconds to answer and must not be taken out.
            "    timeout check 5s\n"
            f"{servers}"
        )

    def start(self) -> None:
        path = self.root / "haproxy.cfg"
        path.write_text(self.config())
        check = subprocess.run([self.binary, "-c", "-f", str(path)], capture_output=True, text=True, timeout=20)
        if check.returncode:
            raise RuntimeError(f"HAProxy refused its configuration: {check.stdout}{check.stderr}")
        log = open(self.root / "haproxy.log", "ab")  # noqa: SIM115  (kept open by the child)
        self.process = subprocess.Popen([self.binary, "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT)
        wait_until("HAProxy", lambda: port_open(self.port) and self.socket.exists(), 20)

    # What HAProxy counted per node: connections opened and reused, connection and response errors,
    # aborts by either side, retries and redispatches. A request that a node's closing a reused
    # connection lost leaves no log line (HAProxy closes the client's connection without answering,
    # for it to retry): these counters are where it shows.
    COUNTERS = ("connect", "reuse", "econ", "eresp", "cli_abrt", "srv_abrt", "wretr", "wredis")

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's ``show stat`` for the nodes' backend, one row per node, from its stats socket."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {row["svname"]: row for row in rows if row.get("pxname") == "nodes"}

    def status(self) -> dict[str, str]:
        """Each node's status as HAProxy sees it (UP, DOWN, "UP 1/2", ...)."""
        return {name: row["status"] for name, row in self.stats().items()}

    def counters(self) -> dict[str, dict[str, str]]:
        return {name: {key: row.get(key, "") for key in self.COUNTERS} for name, row in self.stats().items()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop(self.process)
