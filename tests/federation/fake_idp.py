"""A misbehaving identity provider on loopback, whose answers each test writes: crafted ID tokens
(another audience, no signature, a key it never published...), errors, garbage, or silence.

It is the outside world seen from Portcullis, so a stand-in is fair: everything on our side runs
for real against it. It publishes one RSA key (``signing_key``); ``rogue_key`` is a key it does not
publish, for tokens an attacker signed.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey


class FakeProvider:
    def __init__(self):
        self.signing_key = RSAKey.generate_key(2048, parameters={"kid": "fake-1", "alg": "RS256", "use": "sig"})
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "fake-1", "alg": "RS256", "use": "sig"})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.reset()

    def reset(self):
        # path -> (status, content type, body bytes) overriding the normal answer
        self.answers: dict[str, tuple[int, str, bytes]] = {}
        self.delays: dict[str, float] = {}  # path -> seconds to wait before answering
        self.drips: dict[str, float] = {}  # path -> seconds between each byte of the body
        self.discovery_changes: dict = {}
        self.token_response: dict = {}
        self.userinfo: dict = {}
        self.requests: list[tuple[str, str, dict, dict]] = []  # (method, path, headers, form)
        self.published_keys = [self.signing_key]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
            **self.discovery_changes,
        }

    def id_token(self, claims: dict, *, key=None, alg="RS256", header=None) -> str:
        key = key or self.signing_key
        return jwt.encode({"alg": alg, "kid": key.kid, **(header or {})}, claims, key, algorithms=[alg])

    def claims(self, *, client_id: str, nonce: str, **changes) -> dict:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "u-42", "aud": client_id, "nonce": nonce, "iat": now, "exp": now + 300}
        claims.update(email="u42@acme.test", name="Ursula Fortytwo")
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def answer_token(self, id_token: str, **extra) -> None:
        self.token_response = {"access_token": "at-1", "token_type": "Bearer", "id_token": id_token, **extra}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def unsigned(claims: dict) -> str:
    """An ``alg: none`` JWT: the header and the claims, and no signature at all."""
    from joserfc.util import json_b64encode

    return f"{json_b64encode({'alg': 'none', 'typ': 'JWT'}).decode()}.{json_b64encode(claims).decode()}."


def hs256(claims: dict, secret: str, kid: str = "fake-1") -> str:
    """An HS256 JWT keyed with ``secret`` (the client secret, which the client itself knows)."""
    return jwt.encode({"alg": "HS256", "kid": kid}, claims, OctKey.import_key(secret), algorithms=["HS256"])


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        fake: FakeProvider = self.server.fake
        path = self.path.split("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()} if length else {}
        fake.requests.append((self.command, path, dict(self.headers), form))
        if delay := fake.delays.get(path):
            time.sleep(delay)
        if path in fake.answers:
            status, content_type, body = fake.answers[path]
        else:
            routes = {
                "/.well-known/openid-configuration": fake.discovery,
                "/jwks": lambda: {"keys": [key.as_dict(private=False) for key in fake.published_keys]},
                "/token": lambda: fake.token_response,
                "/userinfo": lambda: fake.userinfo,
            }
            if path not in routes:
                status, content_type, body = 404, "text/plain", b"not found"
            else:
                status, content_type, body = 200, "application/json", json.dumps(routes[path]()).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if drip := fake.drips.get(path):
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(drip)
            else:
                self.wfile.write(body)
        except (OSError, ValueError):
            pass  # the client gave up waiting (the timeout tests), or the server is closing

    def log_message(self, *args):
        pass
