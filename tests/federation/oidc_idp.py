"""panva's oidc-provider (tests/federation/oidc_provider/) as the customer's identity provider:
started on a free loopback port with the clients and accounts a test needs, and signed in at over
plain HTTP the way a browser would (follow the redirects, fill in its sign-in form)."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

FOLDER = Path(__file__).resolve().parent / "oidc_provider"
PASSWORD = "correct horse battery staple"
BASIC_CLIENT, POST_CLIENT = "portcullis-basic", "portcullis-post"
# Jane's ID token carries her profile; Bob's email and department are only in the userinfo response.
ACCOUNTS = {
    "jane": {
        "password": PASSWORD,
        "claims": {
            "email": "jane@acme.test",
            "email_verified": True,
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
            "nickname": "jd",
            "mail": "jane.doe@corp.acme.test",
        },
        "userinfo": {"department": "Research"},
    },
    "bob": {
        "password": PASSWORD,
        "claims": {"name": "Bob Roe"},
        "userinfo": {"email": "bob@acme.test", "email_verified": True, "department": "Sales"},
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class IdentityProvider:
    issuer: str
    clients: dict[str, str]  # client_id -> client_secret
    process: subprocess.Popen = field(repr=False)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def sign_in(self, authorization_url: str, *, username="jane", password=PASSWORD, cancel=False) -> str:
        """Follow ``authorization_url`` to the sign-in form, fill it in (or press Cancel), and
        return the URL the provider sends the browser back to (not followed)."""
        with requests.Session() as browser:
            page = browser.get(authorization_url, timeout=10)
            assert page.status_code == 200, page.text[:500]
            path = "abort" if cancel else "login"
            action = re.search(rf'action="(/interaction/[^"]+/{path})"', page.text).group(1)
            data = {} if cancel else {"login": username, "password": password}
            answer = browser.post(urljoin(self.issuer, action), data=data, allow_redirects=False, timeout=10)
            while answer.status_code in (302, 303) and _same_origin(answer.headers["Location"], self.issuer):
                answer = browser.get(
                    urljoin(self.issuer, answer.headers["Location"]), allow_redirects=False, timeout=10
                )
            assert answer.status_code in (302, 303), f"{answer.status_code} {answer.text[:500]}"
            return answer.headers["Location"]


def _same_origin(url: str, issuer: str) -> bool:
    return not urlsplit(url).netloc or urlsplit(url).netloc == urlsplit(issuer).netloc


def start_identity_provider(redirect_uris: list[str], log_path: Path) -> IdentityProvider:
    node = shutil.which("node")
    if node is None or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is needed: `npm ci` in tests/federation/oidc_provider (make test does it).")
    port = free_port()
    clients = {BASIC_CLIENT: "basic-secret-" + "b" * 32, POST_CLIENT: "post-secret-" + "p" * 32}
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "OIDC_PORT": str(port),
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        "OIDC_CLIENTS": json.dumps(
            [
                {
                    "client_id": BASIC_CLIENT,
                    "client_secret": clients[BASIC_CLIENT],
                    "redirect_uris": redirect_uris,
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                {
                    "client_id": POST_CLIENT,
                    "client_secret": clients[POST_CLIENT],
                    "redirect_uris": redirect_uris,
                    "token_endpoint_auth_method": "client_secret_post",
                },
            ]
        ),
    }
    log = log_path.open("w")
    process = subprocess.Popen([node, "server.mjs"], cwd=FOLDER, env=env, stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded machine: the first start reads many modules
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"oidc-provider exited: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return IdentityProvider(issuer=issuer, clients=clients, process=process)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"oidc-provider did not start: {log_path.read_text()[-2000:]}")


def stop(provider: IdentityProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(5)
    except subprocess.TimeoutExpired:
        provider.process.kill()
