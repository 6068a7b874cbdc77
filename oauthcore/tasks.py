"""Periodic and deferred work of the authorization server."""

from oauthcore.outbox import email_deliver, emails_resend_stale
from oauthcore.services.applications import previous_secrets_retire
from oauthcore.services.tokens import expired_tokens_clear
from portal.platform.tasks_base import portcullis_task


@portcullis_task
def clear_expired_tokens() -> None:
    """Periodic: delete the tokens, codes and device authorizations that no longer work."""
    expired_tokens_clear()


@portcullis_task
def retire_previous_client_secrets() -> None:
    """Periodic: delete the replaced client secrets whose grace period is over.

    They stopped authenticating at their expiry already (client authentication checks it); this
    only removes them, with an audit event each.
    """
    previous_secrets_retire()


@portcullis_task
def seal_audit_log() -> None:
    """Periodic: chain the audit entries written since the last run (``audit_chain.seal``).

    Writers append entries without a lock; until this runs they are reported pending."""
    from oauthcore.audit_chain import seal

    seal()


@portcullis_task
def flush_token_activity() -> None:
    """Periodic: move the tokens counted in Redis during the finished minutes into the table."""
    from oauthcore.activity import flush_token_activity as flush

    flush()


# The email outbox's tasks keep the names they had under the partner app, so messages already on
# the broker (and beat's schedule) still find them.
@portcullis_task(name="portal.tasks.deliver_email")
def deliver_email(email_id: int) -> None:
    """Send one queued email. Idempotent: a second run finds it sent and does nothing."""
    email_deliver(email_id=email_id)


@portcullis_task(name="portal.tasks.resend_stale_emails")
def resend_stale_emails() -> None:
    """Periodic: queue again the emails whose delivery task was lost."""
    emails_resend_stale()
