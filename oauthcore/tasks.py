"""Periodic and deferred work of the authorization server."""

from oauth2_provider.models import clear_expired

from portal.tasks_base import portcullis_task


@portcullis_task
def clear_expired_tokens() -> None:
    """Delete expired and revoked tokens and authorization codes (DOT's cleartokens, in batches)."""
    clear_expired()
