"""Helpers for driving /authorize and the code exchange from the Django test client."""

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

CALLBACK = "https://partner.example.com/callback"
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789-abcdefghij"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_path(app, audience: str, scope: str = "read:things") -> str:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "audience": audience,
        "scope": scope,
        "state": "s",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return "/authorize?" + urlencode(query)


def code_from(response) -> str:
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def exchange(issued, code: str) -> dict:
    """The token request that trades ``code`` for tokens, for the app ``issued`` (IssuedCredentials)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": issued.application.client_id,
        "client_secret": issued.client_secret,
        "code_verifier": VERIFIER,
    }
