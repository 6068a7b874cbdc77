"""What the benchmark sends: each scenario for Portcullis and, where it has one, its baseline twin."""

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

FORM = "Content-Type: application/x-www-form-urlencoded"
# An access token that is a JWT: three base64url parts (oidc-provider's compact JSON has no spaces).
JWT_ACCESS_TOKEN = '"access_token":"[%w_%-]+%.[%w_%-]+%.[%w_%-]+"'


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: str  # "portcullis", "baseline" or "oidc_provider"
    path: str
    method: str = "GET"
    body: str = ""
    headers: tuple[str, ...] = ()
    expect_status: int = 200
    expect: str = ""  # a text the body (or a redirect's Location) must contain
    expect_pattern: str = ""  # a Lua pattern the body must match as well
    uses_codes: bool = False  # the body takes a fresh authorization code per request ("{code}")
    twin: str | None = None  # the baseline scenario doing the same work with untouched DOT

    def environment(self, threads: int, codes_file: str = "") -> dict[str, str]:
        return {
            "BENCH_METHOD": self.method,
            "BENCH_PATH": self.path,
            "BENCH_BODY": self.body,
            "BENCH_HEADERS": "\n".join(self.headers),
            "BENCH_EXPECT_STATUS": str(self.expect_status),
            "BENCH_EXPECT": self.expect,
            "BENCH_EXPECT_PATTERN": self.expect_pattern,
            "BENCH_CODES_FILE": codes_file if self.uses_codes else "",
            "BENCH_THREADS": str(threads),
        }


def _basic(client: dict) -> str:
    credentials = f"{client['client_id']}:{client['client_secret']}".encode()
    return "Authorization: Basic " + base64.b64encode(credentials).decode()


def _code_exchange_body(tenant: dict, client: dict) -> str:
    # "{code}" is replaced per request; urlencode would escape its braces.
    rest = urlencode(
        {
            "redirect_uri": tenant["callback"],
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "code_verifier": tenant["code_verifier"],
        }
    )
    return "grant_type=authorization_code&code={code}&" + rest


def _authorize(key: str, label: str, server: str, tenant: dict, twin: str | None = None) -> Scenario:
    """The logged-in user's browser asking for a code it gets at once (no screen): a redirect."""
    cookie = "Cookie: " + tenant["session_cookie"]
    return Scenario(
        key, label, server, tenant["authorize_path"], headers=(cookie,), expect_status=302, expect="code=", twin=twin
    )


def baseline_scenarios(tenant: dict) -> list[Scenario]:
    m2m, web = tenant["m2m"], tenant["web"]
    return [
        Scenario("hello", "hello view (Django, no database)", "baseline", "/hello", expect="hello"),
        Scenario(
            "dot_client_credentials",
            "DOT client credentials",
            "baseline",
            "/o/token/",
            "POST",
            urlencode({"grant_type": "client_credentials", **m2m, "scope": "read"}),
            (FORM,),
            expect='"access_token"',
        ),
        Scenario(
            "dot_introspection",
            "DOT introspection",
            "baseline",
            "/o/introspect/",
            "POST",
            urlencode({"token": tenant["access_token"]}),
            (FORM, _basic(m2m)),
            expect='"active": true',
        ),
        Scenario(
            "dot_code_exchange",
            "DOT code exchange",
            "baseline",
            "/o/token/",
            "POST",
            _code_exchange_body(tenant, web),
            (FORM,),
            expect='"access_token"',
            uses_codes=True,
        ),
        _authorize("dot_authorize", "DOT authorize redirect", "baseline", tenant),
    ]


def portcullis_scenarios(tenant: dict) -> list[Scenario]:
    def client_credentials(key: str, label: str, client: dict) -> Scenario:
        body = urlencode({"grant_type": "client_credentials", **client, "audience": tenant["api"]})
        return Scenario(
            key,
            label,
            "portcullis",
            "/oauth/token",
            "POST",
            body,
            (FORM,),
            expect='"access_token"',
            twin="dot_client_credentials",
        )

    return [
        client_credentials(
            "client_credentials_strict", "client credentials, strict third-party app", tenant["strict_m2m"]
        ),
        client_credentials(
            "client_credentials_first_party", "client credentials, first-party app", tenant["first_party_m2m"]
        ),
        Scenario(
            "introspection",
            "introspection (the API's own client)",
            "portcullis",
            "/oauth/introspect",
            "POST",
            urlencode({"token": tenant["access_token"]}),
            (FORM, _basic(tenant["introspector"])),
            expect='"active": true',
            twin="dot_introspection",
        ),
        Scenario(
            "code_exchange",
            "authorization code exchange (PKCE, strict app)",
            "portcullis",
            "/oauth/token",
            "POST",
            _code_exchange_body(tenant, tenant["web"]),
            (FORM,),
            expect='"access_token"',
            uses_codes=True,
            twin="dot_code_exchange",
        ),
        _authorize(
            "authorize", "authorize redirect, logged-in user, consent given", "portcullis", tenant, "dot_authorize"
        ),
    ]


def peer_scenarios(tenant: dict) -> list[Scenario]:
    body = urlencode({"grant_type": "client_credentials", "resource": tenant["resource"], "scope": "read"})
    return [
        Scenario(
            "oidc_provider_client_credentials",
            "oidc-provider client credentials (JWT)",
            "oidc_provider",
            "/token",
            "POST",
            body,
            (FORM, _basic(tenant)),
            expect='"access_token"',
            expect_pattern=JWT_ACCESS_TOKEN,
        )
    ]
