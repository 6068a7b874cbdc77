"""What more than one of the partner services needs."""

from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import Connection


def database_connection() -> Connection:
    """Where the portal's own accounts live: the owners who sign up, the colleagues who accept an invitation."""
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)
