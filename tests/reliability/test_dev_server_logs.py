"""The development server (``make run``: ``manage.py runserver``, DEBUG on) with its real logging
configuration: a partner follows the confirmation link and the invitation link mailed to them
(printed on stdout by the console email backend) and a device user code is entered; its stderr,
the access log and every warning included, never shows the tokens or the code. The same for
gunicorn's access log, when one is configured."""

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from oauthcore.services.device import _new_user_code, format_user_code

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
LINK = re.compile(r"https?://[^\s\"'<>]+/portal/(?:verify-email|invitations)/[^\s\"'<>]+")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The environment of ``make run`` (DEBUG on, eager tasks, console email) on a migrated SQLite file."""
    directory = tmp_path_factory.mktemp("server")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "LOG_LEVEL"}
    }
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}", PYTHONUNBUFFERED="1")
    subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    return directory, env


@contextmanager
def serving(command: list[str], port: int, project):
    """The server started by ``command`` on ``port``, until it answers: (base URL, stdout, stderr)."""
    directory, env = project
    stdout, stderr = directory / f"{port}.out", directory / f"{port}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert server.poll() is None and time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.3)
        yield base, stdout, stderr
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def dev_server(project):
    port = _free_port()
    with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], port, project) as server:
        yield server


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _new_link(stdout: Path, seen: set[str]) -> str:
    """The path of the newest emailed link not followed yet (the console backend prints the mail)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fresh = [link for link in LINK.findall(stdout.read_text()) if link not in seen]
        if fresh:
            seen.add(fresh[-1])
            return urlsplit(fresh[-1]).path
        time.sleep(0.2)
    raise AssertionError("no link was mailed")


def test_the_dev_server_logs_no_emailed_token_and_no_user_code(dev_server):
    base, stdout, stderr = dev_server
    seen: set[str] = set()
    owner = requests.Session()
    form = owner.get(f"{base}/portal/signup")
    signed_up = owner.post(
        f"{base}/portal/signup",
        {
            "csrfmiddlewaretoken": _csrf(form),
            "name": "Loggers Inc",
            "website": "https://loggers.example",
            "username": "owner",
            "email": "owner@example.com",
            "password": "a long demo passphrase 1",
        },
        headers={"Referer": f"{base}/portal/signup"},
    )
    assert signed_up.status_code == 200 and "/portal/" in signed_up.url, signed_up.text[:500]
    dashboard = urlsplit(signed_up.url).path  # /portal/<partner id>/

    verify_path = _new_link(stdout, seen)
    assert owner.get(base + verify_path).status_code == 200
    assert requests.get(base + verify_path[:-3] + "abc", timeout=10).status_code == 400  # tampered: logged as a warning

    team = owner.get(f"{base}{dashboard}team")
    invited = owner.post(
        f"{base}{dashboard}team/invite",
        {"csrfmiddlewaretoken": _csrf(team), "email": "new@example.com", "role": "developer"},
        headers={"Referer": team.url},
    )
    assert invited.status_code == 200, invited.text[:500]
    invitation_path = _new_link(stdout, seen)
    assert requests.get(base + invitation_path, timeout=10).status_code == 200
    refused = requests.Session()
    page = refused.get(base + invitation_path)
    short = refused.post(
        base + invitation_path,
        {"csrfmiddlewaretoken": _csrf(page), "username": "newbie", "password": "x"},
        headers={"Referer": base + invitation_path},
    )
    assert short.status_code == 400  # a refused form on the page: logged as a warning

    user_code = format_user_code(_new_user_code())
    assert requests.get(f"{base}/activate", params={"user_code": user_code}, timeout=10).status_code in {200, 302}

    time.sleep(0.5)  # the last access lines
    logged = stderr.read_text()
    # It did capture the access log and the warnings, each request line once.
    assert re.search(r'"GET /portal/verify-email/\S+ HTTP/1\.1" 200', logged)
    assert "Bad Request: /portal/verify-email/" in logged and "Bad Request: /portal/invitations/" in logged
    assert '"GET /activate?user_code=' in logged
    secrets = {
        "verification token": verify_path.rstrip("/").rsplit("/", 1)[1][:-3],
        "invitation token": invitation_path.rstrip("/").rsplit("/", 1)[1],
        "user code": user_code,
    }
    leaked = {name: line for name, secret in secrets.items() for line in logged.splitlines() if secret in line}
    assert not leaked, leaked


def test_gunicorns_access_log_shows_no_token_and_no_user_code(project):
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    command += ["--access-logfile", "-", "--error-logfile", "-"]
    with serving(command, port, project) as (base, stdout, stderr):
        user_code = format_user_code(_new_user_code())
        token = "eyJwYXJ0bmVyIjoxfQ:1xYXp3:" + "k" * 43
        requests.get(f"{base}/activate", params={"user_code": user_code}, allow_redirects=False, timeout=10)
        requests.get(f"{base}/portal/verify-email/{token}", timeout=10)
        requests.get(f"{base}/portal/invitations/{token}", timeout=10)
        time.sleep(0.5)
        logged = stdout.read_text() + stderr.read_text()
    assert '"GET /activate?user_code=' in logged and '"GET /portal/invitations/' in logged  # the access log
    assert user_code not in logged and token not in logged
