"""Django's PostgreSQL backend, with connection health checks that cost no round trip.

With ``CONN_HEALTH_CHECKS``, Django sends ``SELECT 1`` before the first query of every request
that reuses a connection: on the token endpoint that is one round trip in three. A connection the
server has closed (a restart, an idle timeout, a terminated backend) announces it: PostgreSQL
writes an error and closes the socket, which then reads as ready while no query is pending. So
here a connection is usable when psycopg holds it open, idle and unbroken, and its socket has
nothing to say; anything else reconnects, as a failed ``SELECT 1`` would.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
