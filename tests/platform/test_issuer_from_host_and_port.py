"""``PORT=8101 make run``: the issuer (tokens, discovery, links, emails) and the allowed hosts follow
``HOST`` and ``PORT`` unless ``PORTCULLIS_ISSUER`` says otherwise. Settings are read once, when Django
starts, so each case starts ``manage.py`` afresh with its own environment, as ``make run`` does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.platform.env import served_at

ROOT = Path(__file__).resolve().parents[2]
# What the server says about itself, and its discovery document as a client reads it.
REPORT = """
import json
from urllib.parse import urlsplit
from django.conf import settings
from django.db import connection
from django.test import Client
from oauthcore.conf import portcullis_settings
issuer = portcullis_settings.issuer
connection.creation.create_test_db(verbosity=0)  # an in-memory database: the tenant's settings
document = Client().get("/.well-known/openid-configuration", HTTP_HOST=urlsplit(issuer).netloc).json()
print(json.dumps({"issuer": issuer, "discovery": document["issuer"], "token_endpoint": document["token_endpoint"],
                  "allowed_hosts": settings.ALLOWED_HOSTS}))
"""


def settings_with(**environment) -> dict:
    # No DATABASE_URL: the embedded SQLite, whose test database is in memory (never the suite's own).
    unset = {"PORTCULLIS_ISSUER", "HOST", "PORT", "ALLOWED_HOSTS", "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", REPORT],
        cwd=ROOT,
        env=env | environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_issuer_follows_host_and_port():
    seen = settings_with(HOST="127.0.0.1", PORT="8101")
    assert seen["issuer"] == seen["discovery"] == "http://127.0.0.1:8101"
    assert seen["token_endpoint"] == "http://127.0.0.1:8101/oauth/token"
    assert "127.0.0.1" in seen["allowed_hosts"]


def test_a_host_name_is_allowed_as_the_issuers_host():
    seen = settings_with(HOST="portcullis.test", PORT="8102")
    assert seen["issuer"] == seen["discovery"] == "http://portcullis.test:8102"
    assert "portcullis.test" in seen["allowed_hosts"]


def test_portcullis_issuer_wins_over_host_and_port():
    seen = settings_with(HOST="127.0.0.1", PORT="8101", PORTCULLIS_ISSUER="https://auth.example.com/")
    assert seen["issuer"] == seen["discovery"] == "https://auth.example.com"
    assert seen["token_endpoint"] == "https://auth.example.com/oauth/token"
    assert "auth.example.com" in seen["allowed_hosts"]


def test_without_any_the_issuer_is_make_runs_default():
    assert settings_with()["issuer"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8101"),
        ("0.0.0.0", "http://127.0.0.1:8101"),  # noqa: S104 (a wildcard listener is reached on loopback)
        ("::", "http://127.0.0.1:8101"),
        ("::1", "http://[::1]:8101"),
        ("[::1]", "http://[::1]:8101"),
        ("", "http://127.0.0.1:8101"),
    ],
)
def test_served_at(host, expected):
    assert served_at(host, 8101) == expected
