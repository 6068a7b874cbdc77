"""What the benchmark needs from the machine: packages, PostgreSQL, Redis, databases, processes.

On a fresh Debian machine, run as root, it installs what is missing (wrk, PostgreSQL, Redis from
Debian's packages) and starts the services, as ``.ci/run`` does for the tests; otherwise it says
what to install. It only ever creates and drops databases whose names start with ``portcullis_bench``.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH_DATABASE_PREFIX = "portcullis_bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_packages() -> None:
    """wrk, and PostgreSQL and Redis when they are neither installed nor reachable."""
    wanted = []
    if shutil.which("wrk") is None:
        wanted.append("wrk")
    if shutil.which("pg_ctlcluster") is None and not _postgres_answers():
        wanted.append("postgresql")
    if shutil.which("redis-server") is None and not _redis_answers():
        wanted.append("redis-server")
    if not wanted:
        return
    if not is_root():
        raise SystemExit(f"make bench needs {' '.join(wanted)}: run it as root once, or apt-get install them.")
    log(f"Installing {' '.join(wanted)} (Debian packages)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    if "postgresql" in wanted:
        _trust_loopback()


def _pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]


def _trust_loopback() -> None:
    """A freshly installed, throwaway cluster: let the benchmark connect over loopback as postgres."""
    hba = Path(f"/etc/postgresql/{_pg_version()}/main/pg_hba.conf")
    hba.write_text("host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n" + hba.read_text())
    if _postgres_answers():  # the package started it: read the new rules
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "reload"], check=True)


def _postgres_answers() -> bool:
    return (
        shutil.which("pg_isready") is not None
        and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0
    )


def _redis_answers() -> bool:
    if shutil.which("redis-cli") is None:
        return False
    probe = subprocess.run(
        ["timeout", "2", "redis-cli", "-h", "127.0.0.1", "ping"], check=False, capture_output=True, text=True
    )
    return probe.stdout.strip() == "PONG"


def _wait_until(what: str, check) -> None:
    for _ in range(60):
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"{what} did not come up within 30 s")


def ensure_services() -> None:
    if not _postgres_answers():
        if not is_root():
            raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432: start it (or run make bench as root).")
        log("Starting PostgreSQL")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "start"], check=True)
        _wait_until("PostgreSQL", _postgres_answers)
    if not _redis_answers():
        if not is_root():
            raise SystemExit("Redis does not answer on 127.0.0.1:6379: start it (or run make bench as root).")
        log("Starting Redis")
        os.makedirs("/var/lib/redis", exist_ok=True)
        subprocess.run(
            [
                *("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379"),
                *("--save", "", "--appendonly", "no", "--dir", "/var/lib/redis"),
            ],
            check=True,
        )
        _wait_until("Redis", _redis_answers)


# -- databases --------------------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create the database ``name`` (a ``portcullis_bench`` one, never another)."""
    if not name.startswith(BENCH_DATABASE_PREFIX):
        raise ValueError(f"The benchmark only touches databases named {BENCH_DATABASE_PREFIX}*, not {name!r}.")
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url(server_url, name)


def backend_pids(server_url: str, name: str) -> list[int]:
    """The PostgreSQL server processes serving database ``name``."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    return [pid for (pid,) in rows]


# -- processes --------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def cpu_seconds(pids) -> float:
    """User and system CPU time used so far by ``pids`` (those that still run)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
