"""Taking the database away from the test process for a while, for real.

PostgreSQL: the connection is pointed at a loopback port nobody listens on, so every query
fails to connect, exactly as while the server restarts. SQLite (the tests' shared in-memory
database): a second connection holds an exclusive lock, and every statement of the test's
connection fails with "database is locked". Either way the driver raises a real
``OperationalError``; nothing of the project is replaced.
"""

import socket
import sqlite3
from contextlib import contextmanager

from django.db import connection


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


@contextmanager
def database_down():
    if connection.vendor == "postgresql":
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
        return
    connection.ensure_connection()
    blocker = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None, timeout=0.05)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        blocker.execute("CREATE TABLE outage_lock (x)")
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
