"""The baseline's tenant: django-oauth-toolkit apps with plain secrets, a user, codes, a token.

Run from this folder with the baseline's environment (DATABASE_URL, SECRET_KEY):

    python fixtures.py tenant                        # prints the tenant as JSON
    python fixtures.py codes FILE COUNT TEMPLATE     # authorization codes, one a line
"""

import os
import secrets
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline_project.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the project, for tests.bench

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from oauth2_provider.models import get_application_model, get_grant_model  # noqa: E402

from tests.bench.shared_fixtures import CALLBACK, authorized_browser, clone_codes, issued_token, run  # noqa: E402

Application = get_application_model()
Grant = get_grant_model()


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
    data = {"grant_type": "client_credentials", "client_id": m2m.client_id, "client_secret": m2m_secret}
    return {
        **authorized_browser(user, "/o/authorize/", web.client_id, scope="read"),
        "m2m": {"client_id": m2m.client_id, "client_secret": m2m_secret},
        "web": {"client_id": web.client_id, "client_secret": web_secret},
        "access_token": issued_token("/o/token/", {**data, "scope": "read"}),
    }


def codes(path: str, count: int, template_code: str) -> None:
    fields = ("application_id", "user_id", "redirect_uri", "scope", "code_challenge", "code_challenge_method")
    clone_codes(Grant, template_code, count, path, fields)


if __name__ == "__main__":
    run(__doc__, tenant, codes)
