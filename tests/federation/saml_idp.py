"""A real SAML 2.0 identity provider for the tests: pysaml2's ``Server``, its own key and certificate
made at start, its metadata and SSO endpoints served over HTTP on a loopback port.

``GET /metadata`` serves its metadata (or, when told, an error or a slow answer). ``/sso/redirect``
and ``/sso/post`` take an AuthnRequest (HTTP-Redirect, HTTP-POST) and, for the signed-in identity
(``idp.login(...)``), answer with an HTML form posting a signed Response to the SP's ACS URL; with
no one signed in they show a login form first (for the browser). ``response_for(...)`` builds a
Response directly, with the changes an attack test needs, signed by this provider's key or another.
"""

import base64
import contextlib
import datetime
import html
import os
import re
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, samlp
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part

FORM_FIELD_RE = re.compile(r'name="(SAMLResponse|RelayState)" value="([^"]*)"')


def key_and_cert(folder: str, name: str) -> tuple[str, str]:
    """A new RSA key and self-signed certificate, written as PEM files; their paths."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = os.path.join(folder, f"{name}.key"), os.path.join(folder, f"{name}.crt")
    with open(key_path, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def form_fields(page: str) -> dict[str, str]:
    """SAMLResponse and RelayState from the provider's auto-post page."""
    return {name: html.unescape(value) for name, value in FORM_FIELD_RE.findall(page)}


class SamlIdp:
    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="test-idp-")
        self.key_file, self.cert_file = key_and_cert(self.folder, "idp")
        self.other_key_file, self.other_cert_file = key_and_cert(self.folder, "intruder")
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.entity_id = f"{self.base}/metadata"
        self.sp_metadata: list[str] = []
        self.require_signed_requests = False
        self.metadata_mode = "ok"  # "ok", "error" (HTTP 500), "slow" (answers after metadata_delay)
        self.metadata_delay = 3.0
        self.user: dict | None = None  # {"name_id": ..., "attributes": {...}}: who is signed in
        self.accounts: dict[str, dict] = {}  # the login form's users, by name
        self.requests: list = []  # every AuthnRequest received, parsed
        # Where the browser's post really goes for an ACS URL: the SP's public URL (its issuer) may
        # sit in front of the server under test, as a reverse proxy would.
        self.post_to = lambda acs: acs
        self.server = self._server()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- configuration ---------------------------------------------------------------------
    def _server(self) -> Server:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "key_file": self.key_file,
                "cert_file": self.cert_file,
                "metadata": {"inline": list(self.sp_metadata)} if self.sp_metadata else {},
                "accepted_time_diff": 60,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.base}/sso/redirect", BINDING_HTTP_REDIRECT),
                                (f"{self.base}/sso/post", BINDING_HTTP_POST),
                            ]
                        },
                        "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": self.require_signed_requests,
                    }
                },
            }
        )
        return Server(config=config)

    def trust_sp(self, metadata: bytes | str, *, require_signed_requests: bool = False):
        """Load an SP's metadata (as its admin would), optionally requiring its requests signed."""
        self.sp_metadata.append(metadata.decode() if isinstance(metadata, bytes) else metadata)
        self.require_signed_requests = require_signed_requests
        self.server = self._server()

    def metadata(self) -> str:
        document = create_metadata_string(None, self.server.config, valid=4, sign=False)
        return document.decode() if isinstance(document, bytes) else document

    def login(self, name_id: str, **attributes):
        self.user = {
            "name_id": name_id,
            "attributes": {k: v if isinstance(v, list) else [v] for k, v in attributes.items()},
        }

    # -- answers -----------------------------------------------------------------------------
    def receive(self, binding: str, params: dict):
        """The parsed AuthnRequest; IncorrectlySigned etc. when it is not acceptable."""
        request = self.server.parse_authn_request(
            params["SAMLRequest"],
            binding,
            relay_state=params.get("RelayState"),
            sigalg=params.get("SigAlg"),
            signature=params.get("Signature"),
        )
        self.requests.append(request)
        return request

    def response_for(
        self,
        request=None,
        *,
        in_response_to: str | None = "",
        sp_entity_id: str | None = None,
        acs: str | None = None,
        user: dict | None = None,
        sign_response: bool = False,
        sign_assertion: bool = True,
        intruder: bool = False,
        mutate=None,
    ) -> str:
        """A base64 SAMLResponse answering ``request`` (or the last one), signed as asked.
        ``mutate(response)`` changes the pysaml2 objects before they are signed."""
        request = request or self.requests[-1]
        message = request.message
        user = user or self.user
        sp_entity_id = sp_entity_id or message.issuer.text
        acs = acs or message.assertion_consumer_service_url
        xml = self.server.create_authn_response(
            user["attributes"],
            message.id if in_response_to == "" else in_response_to,
            acs,
            sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=user["name_id"]),
            authn={"class_ref": PASSWORD, "authn_auth": self.base},
            sign_response=False,
            sign_assertion=False,
        )
        response = samlp.response_from_string(str(xml))
        if mutate:
            mutate(response)
        return self.sign(response, sign_response=sign_response, sign_assertion=sign_assertion, intruder=intruder)

    def sign(self, response, *, sign_response: bool, sign_assertion: bool, intruder: bool = False) -> str:
        key_file, cert_file = (
            (self.other_key_file, self.other_cert_file) if intruder else (self.key_file, self.cert_file)
        )
        with open(cert_file) as handle:
            cert = "".join(line for line in handle.read().splitlines() if "-----" not in line)
        assertion = response.assertion[0]
        if sign_assertion:
            assertion.signature = pre_signature_part(assertion.id, cert, 1)
        if sign_response:
            response.signature = pre_signature_part(response.id, cert, 2)
        xml = str(response)
        if sign_assertion:
            xml = self.server.sec.sign_statement(xml, class_name(assertion), key_file=key_file, node_id=assertion.id)
        if sign_response:
            xml = self.server.sec.sign_statement(xml, class_name(response), key_file=key_file, node_id=response.id)
        return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode()

    def post_page(self, acs: str, saml_response: str, relay_state: str, *, autosubmit: bool) -> str:
        onload = ' onload="document.forms[0].submit()"' if autosubmit else ""
        return (
            f'<!doctype html><html><body{onload}><form method="post" action="{html.escape(self.post_to(acs))}">'
            f'<input type="hidden" name="SAMLResponse" value="{saml_response}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state or "")}">'
            '<button type="submit">Continue</button></form></body></html>'
        )


def _login_page(params: dict) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    return (
        '<!doctype html><html><body><h1>Test IdP sign-in</h1><form method="post" action="/sso/login">'
        f'{hidden}<label>User <input name="username"></label><button type="submit">Sign in</button>'
        "</form></body></html>"
    )


def _handler(idp: SamlIdp):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: str, content_type: str = "text/html; charset=utf-8"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped waiting
                self.wfile.write(data)

        def _params(self) -> dict:
            query = parse_qs(urlsplit(self.path).query)
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                query.update(parse_qs(self.rfile.read(length).decode()))
            return {k: v[0] for k, v in query.items()}

        def _answer(self, binding: str, params: dict):
            try:
                request = idp.receive(binding, params)
            except Exception as exc:
                return self._send(400, f"Bad AuthnRequest: {html.escape(str(exc))}")
            if idp.user is None:
                return self._send(
                    200, _login_page({**params, "binding": binding, "request_index": str(len(idp.requests) - 1)})
                )
            saml_response = idp.response_for(request)
            acs = request.message.assertion_consumer_service_url
            self._send(200, idp.post_page(acs, saml_response, params.get("RelayState", ""), autosubmit=True))

        def do_GET(self):
            path = urlsplit(self.path).path
            if path == "/metadata":
                if idp.metadata_mode == "error":
                    return self._send(500, "metadata store is down", "text/plain")
                if idp.metadata_mode == "slow":
                    time.sleep(idp.metadata_delay)
                return self._send(200, idp.metadata(), "application/samlmetadata+xml")
            if path == "/sso/redirect":
                return self._answer(BINDING_HTTP_REDIRECT, self._params())
            self._send(404, "not found", "text/plain")

        def do_POST(self):
            path = urlsplit(self.path).path
            if path == "/sso/post":
                return self._answer(BINDING_HTTP_POST, self._params())
            if path == "/sso/login":
                params = self._params()
                account = idp.accounts.get(params.get("username", ""))
                if account is None:
                    return self._send(200, _login_page({k: v for k, v in params.items() if k != "username"}))
                request = idp.requests[int(params["request_index"])]
                saml_response = idp.response_for(request, user=account)
                acs = request.message.assertion_consumer_service_url
                return self._send(200, idp.post_page(acs, saml_response, params.get("RelayState", ""), autosubmit=True))
            self._send(404, "not found", "text/plain")

    return Handler
