"""Production settings (DEBUG off, a real SECRET_KEY, an https issuer), in a process of their own:
``check --deploy`` is clean, and pages carry HSTS, secure cookies and a CSP."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k9$production-like-secret-key-for-the-deployment-test-0123456789abcdef",
    "PORTCULLIS_ISSUER": "https://auth.example.com",
    "ALLOWED_HOSTS": "auth.example.com",
}

HEADERS_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
# No collectstatic in a test run: static file names unhashed; everything else as in production.
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
from django.test import Client
client = Client(HTTP_HOST="auth.example.com")
answers = {}
for path in ("/admin/login/", "/api/v2/docs", "/.well-known/openid-configuration"):
    response = client.get(path, secure=True)
    answers[path] = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"]), "samesite": c["samesite"]}
                    for name, c in response.cookies.items()},
    }
plain = client.get("/admin/login/")
answers["http"] = {"status": plain.status_code, "location": plain.headers.get("Location", "")}
print(json.dumps(answers))
"""


def run(args, extra_env=None):
    env = {**os.environ, **PRODUCTION}
    env.pop("DATABASE_URL", None)  # a database of the test's own when it needs one (extra_env)
    env.update(extra_env or {})
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_pages_carry_hsts_secure_cookies_and_a_csp(tmp_path):
    # The console's pages read their theme from the database: a migrated SQLite file of the test's own.
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'deployment.sqlite3'}"}
    migrated = run(["manage.py", "migrate", "--no-input", "-v", "0"], database)
    assert migrated.returncode == 0, migrated.stderr
    result = run(["-c", HEADERS_SCRIPT], {"DJANGO_SETTINGS_MODULE": "portal.settings", **database})
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    login = answers["/admin/login/"]
    assert login["status"] == 200
    headers = login["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert login["cookies"]["csrftoken"]["secure"] is True
    docs = answers["/api/v2/docs"]
    assert docs["status"] == 200 and "script-src 'self'" in docs["headers"]["Content-Security-Policy"]
    assert answers["/.well-known/openid-configuration"]["headers"]["Strict-Transport-Security"].startswith("max-age")
    # Plain http is sent to https.
    assert answers["http"]["status"] == 301 and answers["http"]["location"].startswith("https://auth.example.com/")


def test_session_cookies_are_secure_and_http_only():
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.CSRF_COOKIE_SECURE)"
    )
    result = run(["-c", script], {"DJANGO_SETTINGS_MODULE": "portal.settings"})
    assert result.stdout.split() == ["True", "True", "True"], result.stderr
