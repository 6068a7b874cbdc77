"""Delivering the email outbox (see portal.outbox)."""

from portal.outbox import email_deliver, emails_resend_stale
from portal.tasks_base import portcullis_task


@portcullis_task
def deliver_email(email_id: int) -> None:
    """Send one queued email. Idempotent: a second run finds it sent and does nothing."""
    email_deliver(email_id=email_id)


@portcullis_task
def resend_stale_emails() -> None:
    """Periodic: queue again the emails whose delivery task was lost."""
    emails_resend_stale()
