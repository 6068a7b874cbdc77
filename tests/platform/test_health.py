"""``/healthz``: the database and the broker, as the deployment sees them."""

import socket
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

pytestmark = pytest.mark.django_db

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    expected_mode = "broker" if settings.CELERY_BROKER_URL else "eager"
    assert body["broker"] == {"ok": True, "mode": expected_mode}


@override_settings(CELERY_BROKER_URL=DEAD_BROKER)
def test_healthz_is_503_when_the_broker_is_down(client):
    started = time.monotonic()
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["broker"]["mode"] == "broker"
    assert body["broker"]["error"]
    assert time.monotonic() - started < 5


def test_healthz_does_not_hang_on_a_broker_that_never_answers(client):
    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"):
            response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert time.monotonic() - started < 10


def test_healthz_accepts_only_get(client):
    assert client.post("/healthz").status_code == 405
