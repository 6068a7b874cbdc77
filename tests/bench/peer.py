"""The peer: panva's oidc-provider (tests/bench/oidc_provider/), installed from its lockfile and started.

It runs one worker per core under Node's cluster module (its primary's children, counted as
gunicorn's workers are) and signs RS256 JWT access tokens for one resource: what Portcullis' client
credentials do, by the certified OpenID provider people pick instead.
"""

import hashlib
import secrets
import shutil
import subprocess
from pathlib import Path

from tests.bench.machine import log
from tests.bench.servers import Server, start

FOLDER = Path(__file__).resolve().parent / "oidc_provider"
LOCK = FOLDER / "package-lock.json"
INSTALLED = FOLDER / "node_modules" / ".bench-lock-sha256"  # the lockfile node_modules was installed from
RESOURCE = "https://api.bench.oidc-provider.test/orders/"
CLIENT_ID = "bench-m2m"


def ensure_installed() -> None:
    """``npm ci`` into the folder when node_modules is missing or the lockfile changed since."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if INSTALLED.exists() and INSTALLED.read_text() == digest:
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("make bench runs oidc-provider as its peer: it needs Node.js 20 and npm (Debian: nodejs npm).")
    log("Installing oidc-provider from tests/bench/oidc_provider/package-lock.json (npm ci)")
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=FOLDER,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"npm ci failed in {FOLDER}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    INSTALLED.write_text(digest)


def node_workers() -> int:
    """How many workers the cluster forks: Node's os.availableParallelism(), asked of Node itself."""
    done = subprocess.run(
        ["node", "-p", "require('node:os').availableParallelism()"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def start_peer(*, port: int, log_dir: Path) -> tuple[Server, dict]:
    """The running peer and its tenant (the client and the resource it asks a token for)."""
    ensure_installed()
    tenant = {"client_id": CLIENT_ID, "client_secret": secrets.token_urlsafe(32), "resource": RESOURCE}
    env = {
        "BENCH_PORT": str(port),
        "BENCH_CLIENT_ID": tenant["client_id"],
        "BENCH_CLIENT_SECRET": tenant["client_secret"],
        "BENCH_RESOURCE": RESOURCE,
        "NODE_ENV": "production",
    }
    server = start(
        name="oidc_provider",
        command=["node", "server.mjs"],
        cwd=FOLDER,
        env=env,
        port=port,
        workers=node_workers(),
        database="",
        log_dir=log_dir,
        ready_path="/.well-known/openid-configuration",
    )
    return server, tenant
