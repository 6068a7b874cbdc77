"""Client ID metadata documents: off by default, and fetched only under the SSRF guards.

The documents are served by a small HTTP server the test starts on 127.0.0.1 (the outside world).
Reaching it needs the test-only loopback allowance, which only a run-time settings override turns on.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from oauthcore import cimd
from oauthcore.constants import CreatedVia, DefaultFor, SubjectType
from oauthcore.models import Application, AuditEvent, TenantSettings
from oauthcore.services.registration import cimd_application_save

pytestmark = pytest.mark.django_db

CALLBACK = "http://127.0.0.1:9999/callback"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


class DocumentServer(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[str] = []
        self.documents: dict[str, tuple[bytes, dict]] = {}
        self.delay = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve(self, path: str, document, headers=None) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = (body, headers or {})
        return f"{self.base}{path}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        time.sleep(self.server.delay)
        body, headers = self.server.documents.get(self.path, (b"{}", {}))
        self.send_response(200 if self.path in self.server.documents else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (the timeout test)
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = DocumentServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


@pytest.fixture
def cimd_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_client_id_metadata_documents": True})


@pytest.fixture
def loopback(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "CIMD_TEST_ALLOW_LOOPBACK": True, "CIMD_FETCH_TIMEOUT": 1.0}
    assert cimd.loopback_allowed()
    yield
    # pytest-django restores the settings after the test; the allowance goes with them.


def document(url: str, **fields) -> dict:
    return {"client_id": url, "client_name": "Agent by URL", "redirect_uris": [CALLBACK], **fields}


def authorize(client, client_id: str, audience: str):
    return client.get(
        "/authorize",
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "read:things",
            "audience": audience,
            "state": "s",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        },
    )


def test_a_metadata_document_url_is_a_client_when_the_tenant_allows_it(
    client, alice_user, server, cimd_on, loopback, make_api, make_grant
):
    api = make_api()
    make_grant(api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:things"], subject_type=SubjectType.USER)
    url = server.serve("/agent.json", None)
    server.serve("/agent.json", document(url), {"Cache-Control": "max-age=120"})
    client.force_login(alice_user)

    response = authorize(client, url, api.identifier)
    assert response.status_code == 200 and 'value="accept"' in response.content.decode()
    assert "Agent by URL" in response.content.decode()
    app = Application.objects.get(external_client_id=url)
    assert app.created_via == CreatedVia.CIMD and app.is_strict_third_party and not app.is_confidential
    assert app.registration_source == Application.RegistrationSource.CIMD

    authorize(client, url, api.identifier)  # cached: the document is not fetched again
    assert server.requests == ["/agent.json"]


def test_off_by_default(client, alice_user, server, loopback, make_api):
    api = make_api()
    url = server.serve("/agent.json", None)
    server.serve("/agent.json", document(url))
    client.force_login(alice_user)
    response = authorize(client, url, api.identifier)
    assert response.status_code == 400 and "Invalid client_id parameter value" in response.content.decode()
    assert server.requests == [] and not Application.objects.exists()


def test_without_the_allowance_loopback_and_http_are_refused_before_any_request(client, alice_user, server, cimd_on):
    url = server.serve("/agent.json", None)
    server.serve("/agent.json", document(url))
    client.force_login(alice_user)
    assert authorize(client, url, "https://api.example.com/").status_code == 400
    assert server.requests == []
    assert not cimd.is_cimd_client_id(url)  # http: not a metadata document URL at all
    https_loopback = f"https://127.0.0.1:{server.server_address[1]}/agent.json"
    with pytest.raises(cimd.CIMDError, match="not public"):
        cimd.fetch_document(https_loopback)
    with pytest.raises(cimd.CIMDError, match="not public"):
        cimd.fetch_document("https://localhost/agent.json")
    with pytest.raises(cimd.CIMDError, match="https only"):
        cimd.fetch_document(url)
    assert server.requests == []


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.10", "169.254.169.254", "[fd00::1]", "0.0.0.0"])  # noqa: S104
def test_private_and_special_addresses_are_refused(loopback, address):
    with pytest.raises(cimd.CIMDError, match="not public"):
        cimd.fetch_document(f"https://{address}/agent.json")


@pytest.mark.parametrize(
    "client_id",
    [
        "https://[agent.example.com/agent.json",  # an unbalanced IPv6 bracket: urlsplit refuses it
        "https://agent\uff03.example.com/agent.json",  # a host that changes under NFKC normalization
        "https://agent.example.com:99999/agent.json",
        "https://agent.example.com:port/agent.json",
    ],
)
@pytest.mark.parametrize("enabled", [False, True], ids=["cimd-off", "cimd-on"])
def test_a_client_id_that_is_no_fetchable_url_is_an_unknown_client(client, client_id, enabled):
    """Such client ids once made the token endpoint answer 500 (a ValueError from urlsplit or from
    reading the port), whether or not the tenant uses metadata documents."""
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_client_id_metadata_documents": enabled})
    data = {"grant_type": "authorization_code", "client_id": client_id, "code": "c", "redirect_uri": CALLBACK}
    response = client.post("/oauth/token", data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not Application.objects.exists()


def test_size_and_time_limits(server, loopback, settings):
    big = server.serve("/big.json", b'{"client_id": "' + b"x" * 10_000 + b'"}')
    with pytest.raises(cimd.CIMDError, match="larger than 5120 bytes"):
        cimd.fetch_document(big)
    slow = server.serve("/slow.json", {"client_id": "x"})
    server.delay = 3
    with pytest.raises(cimd.CIMDError, match=r"cannot be fetched|took too long"):
        cimd.fetch_document(slow)


def test_a_document_that_does_not_describe_its_url_or_wants_a_secret_is_refused(
    client, alice_user, server, cimd_on, loopback, make_api
):
    api = make_api()
    other = server.serve("/other.json", None)
    server.serve("/other.json", document("https://someone-else.example.com/agent.json"))
    secret = server.serve("/secret.json", None)
    server.serve("/secret.json", document(secret, token_endpoint_auth_method="client_secret_post"))
    client.force_login(alice_user)
    for url in (other, secret):
        assert authorize(client, url, api.identifier).status_code == 400
    assert not Application.objects.exists()
    with pytest.raises(cimd.CIMDError, match="not the URL"):
        cimd.application_fields(other, document("https://someone-else.example.com/agent.json"))


def test_the_allowance_cannot_be_switched_on_by_settings_or_environment(tmp_path: Path):
    """A settings module that writes the key, and an environment variable, both leave it off."""
    module = tmp_path / "static_settings.py"
    module.write_text(
        "from portal.settings import *  # noqa\nPORTCULLIS = {**PORTCULLIS, 'CIMD_TEST_ALLOW_LOOPBACK': True}\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "static_settings",
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{Path(__file__).resolve().parents[2]}",
        "PORTCULLIS_CIMD_TEST_ALLOW_LOOPBACK": "1",
        "DEBUG": "1",
    }
    code = "import django; django.setup(); from oauthcore import cimd; print(cimd.loopback_allowed())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.fixture
def alice_user(db):
    from django.contrib.auth import get_user_model

    from oauthcore.audit import Actor
    from oauthcore.models import Connection
    from oauthcore.services.connections import connection_set_domain_level

    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=Actor.system("tests"), connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="alice", password="a long demo passphrase 1")


def test_the_app_behind_a_document_is_made_and_refreshed_by_its_service_audited(db):
    url = "https://agent.example.com/client.json"
    first = timezone.now() + timedelta(minutes=5)
    app = cimd_application_save(url=url, fields=cimd.application_fields(url, document(url)), expires_at=first)
    app.refresh_from_db()
    assert (app.external_client_id, app.created_via, app.cimd_expires_at) == (url, CreatedVia.CIMD, first)
    created = AuditEvent.objects.get(action="client.create", target_id=str(app.pk))
    assert created.actor_type == "system" and created.data["created_via"] == CreatedVia.CIMD

    later = first + timedelta(minutes=5)
    renamed = cimd.application_fields(url, document(url, client_name="Agent, renamed"))
    cimd_application_save(url=url, fields=renamed, expires_at=later, application=app)
    app.refresh_from_db()
    assert (app.name, app.cimd_expires_at) == ("Agent, renamed", later)
    assert AuditEvent.objects.filter(action="client.update", target_id=str(app.pk)).exists()
