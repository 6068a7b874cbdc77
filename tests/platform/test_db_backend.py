"""The PostgreSQL backend (portal/platform/db/postgresql): health checks without a round trip, still correct.

Collected only when the suite runs on PostgreSQL (tests/conftest.py): there is nothing of it to
run on SQLite.
"""

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def server():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("server_side_binding", None)
    return psycopg.connect(**params, autocommit=True)


def last_statement(pid: int) -> str:
    with server() as other:
        return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_checking_a_healthy_connection_sends_nothing():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement sent'")
    pid = connection.connection.info.backend_pid
    assert connection.is_usable()
    assert last_statement(pid) == "SELECT 'the last statement sent'"


@pytest.fixture
def persistent_connections():
    """Connections kept between requests, with health checks: as in production (the suite's are not)."""
    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"]
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = 60, True
    connection.close()  # the next one is opened with these settings
    yield
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = saved
    connection.close()


def test_a_connection_the_server_dropped_is_replaced_before_the_next_request(client, persistent_connections):
    assert client.get("/.well-known/jwks.json").status_code == 200
    pid = connection.connection.info.backend_pid
    with server() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])  # a restart, an idle timeout...
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    close_old_connections()  # what every request starts with (the test client leaves it out)
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert connection.connection.info.backend_pid != pid


def test_statements_a_connection_runs_often_are_prepared(client, make_app, persistent_connections):
    app = make_app(name="Prepared")
    body = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": "wrong"}
    for _ in range(8):
        assert client.post("/oauth/token", body).status_code == 401
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any("oauthcore_application" in statement for statement in prepared), prepared
