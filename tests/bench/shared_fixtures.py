"""What both benchmark tenants share: the PKCE pair, the logged-in browser, the pool of codes.

Imported by tests/bench/portcullis_fixtures.py and tests/bench/baseline/fixtures.py once each has
set Django up with its own project's settings; only Django itself is used here.
"""

import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.test import Client
from django.utils import timezone

CALLBACK = "https://partner.bench.example/callback"
CODE_VERIFIER = "portcullis-bench-code-verifier-0123456789-abcdefghijklmnop"
CODE_CHALLENGE = "JbfBZ8UlTVFPWBLiFUxqxv3-RFc6WPl29jYtIEAwBOQ"  # S256 of CODE_VERIFIER


def authorized_browser(user, authorize: str, client_id: str, **params) -> dict:
    """Log ``user`` in, ask ``authorize`` for a code: the authorize path, session cookie and first code."""
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(user)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        **params,
        "state": "bench",
        "code_challenge": CODE_CHALLENGE,
        "code_challenge_method": "S256",
    }
    path = f"{authorize}?{urlencode(query)}"
    first = browser.get(path)
    if first.status_code != 302 or "code=" not in first["Location"]:
        raise SystemExit(f"{authorize} did not answer with a code: {first.status_code} {first.get('Location')}")
    return {
        "authorize_path": path,
        "session_cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}",
        "first_code": parse_qs(urlsplit(first["Location"]).query)["code"][0],
        "callback": CALLBACK,
        "code_verifier": CODE_VERIFIER,
    }


def issued_token(path: str, data: dict) -> str:
    response = Client(HTTP_HOST="127.0.0.1").post(path, data)
    if response.status_code != 200:
        raise SystemExit(f"{path} refused the benchmark client: {response.content!r}")
    return response.json()["access_token"]


def clone_codes(model, template_code: str, count: int, path: str, fields) -> None:
    """``count`` unused codes shaped exactly like ``template_code`` (which the authorize endpoint
    issued), written in bulk, one a line to ``path``: one /authorize per code would take longer
    than the benchmark itself. They live two hours (real ones 60 s): the runs come minutes later."""
    template = model.objects.get(code=template_code)
    expires = timezone.now() + timedelta(hours=2)
    values = [secrets.token_urlsafe(30) for _ in range(count)]
    for start in range(0, count, 5000):
        model.objects.bulk_create(
            model(code=value, expires=expires, **{name: getattr(template, name) for name in fields})
            for value in values[start : start + 5000]
        )
    Path(path).write_text("\n".join(values) + "\n")


def run(usage: str, tenant, codes) -> None:
    """The fixtures scripts' commands: ``tenant`` (prints it as JSON), ``codes FILE COUNT TEMPLATE``."""
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "tenant":
        print(json.dumps(tenant()))
    elif command == "codes" and len(sys.argv) == 5:
        codes(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(usage)
