"""A person's browser and a partner's OAuth client, both over real HTTP against the live server."""

import base64
import html
import json
import re
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():  # authlib.jose works; its successor is a separate package
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as jose_jwt
    from authlib.jose.errors import InvalidClaimError  # noqa: F401  (for the tests)

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SCOPE_RE = re.compile(r'name="scope" value="([^"]+)"')
PASSWORD = "a long demo passphrase 1"


@dataclass
class AuthorizeOutcome:
    """Where /authorize left the browser: a consent page, an error page, or back at the app."""

    kind: str  # "consent", "error_page", "redirect"
    response: requests.Response
    location: str = ""

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}

    @property
    def offered_scopes(self) -> set[str]:
        return set(SCOPE_RE.findall(self.response.text))

    @property
    def page_text(self) -> str:
        return html.unescape(self.response.text)


class Browser:
    """A cookie-keeping HTTP client that fills in forms the way a person would."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def is_ours(self, location: str) -> bool:
        return location.startswith("/") or location.startswith(self.base_url)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        page = self.session.get(self.url("/login"))
        return self.submit_login(page, username, password)

    def submit_login(self, page: requests.Response, username: str, password: str = PASSWORD) -> requests.Response:
        token = CSRF_RE.search(page.text).group(1)
        return self.session.post(
            page.url,
            data={"csrfmiddlewaretoken": token, "username": username, "password": password},
            headers={"Referer": page.url},
            allow_redirects=False,
        )

    def authorize(self, url: str, *, username: str | None = None, otp: str | None = None) -> AuthorizeOutcome:
        """Open the authorization URL and follow our own redirects (logging in when asked, and
        typing ``otp`` when the login asks for a second factor)."""
        response = self.session.get(url, allow_redirects=False)
        for _ in range(10):
            if response.status_code in (301, 302, 303):
                location = response.headers["Location"]
                if not self.is_ours(location):
                    return AuthorizeOutcome("redirect", response, location)
                response = self.session.get(self.url(location), allow_redirects=False)
                continue
            if urlsplit(response.url).path == "/login/mfa" and otp is not None:
                token = CSRF_RE.search(response.text).group(1)
                response = self.session.post(
                    response.url,
                    data={"csrfmiddlewaretoken": token, "method": "otp", "code": otp},
                    headers={"Referer": response.url},
                    allow_redirects=False,
                )
                otp = None
                continue
            if "/login" in urlsplit(response.url).path and username is not None:
                response = self.submit_login(response, username)
                username = None
                continue
            break
        kind = "consent" if 'value="accept"' in response.text else "error_page"
        return AuthorizeOutcome(kind, response)

    def answer_consent(self, outcome: AuthorizeOutcome, *, accept: bool, scopes=None) -> AuthorizeOutcome:
        page = outcome.response
        data = {
            "csrfmiddlewaretoken": CSRF_RE.search(page.text).group(1),
            "decision": "accept" if accept else "decline",
            "scope": sorted(outcome.offered_scopes if scopes is None else scopes),
        }
        response = self.session.post(page.url, data=data, headers={"Referer": page.url}, allow_redirects=False)
        if response.status_code in (301, 302, 303) and not self.is_ours(response.headers["Location"]):
            return AuthorizeOutcome("redirect", response, response.headers["Location"])
        kind = "consent" if 'value="accept"' in response.text else "error_page"
        return AuthorizeOutcome(kind, response)


def oauth_client(app, secret: str | None, redirect_uri: str | None = None, scope: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=app.client_id,
        client_secret=secret,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    )


def verify_jwt(base_url: str, token: str, audience: str, issuer: str):
    """Verify a token with nothing but the published JWKS, as any resource server would."""
    keys = JsonWebKey.import_key_set(requests.get(base_url.rstrip("/") + "/.well-known/jwks.json", timeout=10).json())
    claims = jose_jwt.decode(
        token,
        keys,
        claims_options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": audience}},
    )
    claims.validate()
    return claims


def jwt_header(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
