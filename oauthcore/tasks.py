"""Periodic and deferred work of the authorization server."""

from oauth2_provider.models import clear_expired

from oauthcore.services.applications import previous_secrets_retire
from portal.tasks_base import portcullis_task


@portcullis_task
def clear_expired_tokens() -> None:
    """Delete expired and revoked tokens and authorization codes (DOT's cleartokens, in batches)."""
    clear_expired()


@portcullis_task
def retire_previous_client_secrets() -> None:
    """Periodic: delete the replaced client secrets whose grace period is over.

    They stopped authenticating at their expiry already (client authentication checks it); this
    only removes them, with an audit event each.
    """
    previous_secrets_retire()
