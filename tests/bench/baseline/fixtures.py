"""The baseline's tenant: django-oauth-toolkit apps with plain secrets, a user, codes, a token.

Run from this folder with the baseline's environment (DATABASE_URL, SECRET_KEY):

    python fixtures.py tenant                        # prints the tenant as JSON
    python fixtures.py codes FILE COUNT TEMPLATE     # authorization codes, one a line
"""

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline_project.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import get_application_model, get_grant_model  # noqa: E402

Application = get_application_model()
Grant = get_grant_model()
CALLBACK = "https://partner.bench.example/callback"
CODE_VERIFIER = "portcullis-bench-code-verifier-0123456789-abcdefghijklmnop"
CODE_CHALLENGE = "JbfBZ8UlTVFPWBLiFUxqxv3-RFc6WPl29jYtIEAwBOQ"  # S256 of CODE_VERIFIER


def _app(name: str, **fields):
    secret = secrets.token_urlsafe(48)
    app, _ = Application.objects.update_or_create(
        name=name, defaults={**fields, "client_secret": secret, "hash_client_secret": False}
    )
    return app, secret


def tenant() -> dict:
    user = get_user_model().objects.filter(username="bench-user").first()
    if user is None:
        user = get_user_model().objects.create_user(username="bench-user", email="bench@example.com")
    m2m, m2m_secret = _app(
        "m2m",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    web, web_secret = _app(
        "web",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=CALLBACK,
        skip_authorization=True,  # DOT's way to skip its approval screen
    )
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(user)
    authorize = "/o/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": web.client_id,
            "redirect_uri": CALLBACK,
            "scope": "read",
            "state": "bench",
            "code_challenge": CODE_CHALLENGE,
            "code_challenge_method": "S256",
        }
    )
    first = browser.get(authorize)
    if first.status_code != 302 or "code=" not in first["Location"]:
        raise SystemExit(f"DOT's /o/authorize/ did not answer with a code: {first.status_code}")
    token = Client(HTTP_HOST="127.0.0.1").post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": m2m.client_id, "client_secret": m2m_secret, "scope": "read"},
    )
    if token.status_code != 200:
        raise SystemExit(f"DOT's token endpoint refused the benchmark client: {token.content!r}")
    return {
        "m2m": {"client_id": m2m.client_id, "client_secret": m2m_secret},
        "web": {"client_id": web.client_id, "client_secret": web_secret},
        "callback": CALLBACK,
        "code_verifier": CODE_VERIFIER,
        "access_token": token.json()["access_token"],
        "authorize_path": authorize,
        "session_cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}",
        "first_code": parse_qs(urlsplit(first["Location"]).query)["code"][0],
    }


def codes(path: str, count: int, template_code: str) -> None:
    template = Grant.objects.get(code=template_code)
    expires = timezone.now() + timedelta(hours=2)
    values = [secrets.token_urlsafe(30) for _ in range(count)]
    fields = ("application_id", "user_id", "redirect_uri", "scope", "code_challenge", "code_challenge_method")
    for start in range(0, count, 5000):
        Grant.objects.bulk_create(
            Grant(code=value, expires=expires, **{name: getattr(template, name) for name in fields})
            for value in values[start : start + 5000]
        )
    Path(path).write_text("\n".join(values) + "\n")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "tenant":
        print(json.dumps(tenant()))
    elif command == "codes" and len(sys.argv) == 5:
        codes(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(__doc__)
