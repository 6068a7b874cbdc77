"""Delivering the email outbox (see portal.partners.outbox).

The task names are the ones these tasks had before the partner app moved into ``portal.partners``,
so messages already on the broker (and beat's schedule) still find them.
"""

from portal.partners.outbox import email_deliver, emails_resend_stale
from portal.platform.tasks_base import portcullis_task


@portcullis_task(name="portal.tasks.deliver_email")
def deliver_email(email_id: int) -> None:
    """Send one queued email. Idempotent: a second run finds it sent and does nothing."""
    email_deliver(email_id=email_id)


@portcullis_task(name="portal.tasks.resend_stale_emails")
def resend_stale_emails() -> None:
    """Periodic: queue again the emails whose delivery task was lost."""
    emails_resend_stale()
