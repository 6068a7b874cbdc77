"""Sending email reliably: queue it with the change that calls for it, deliver it once.

Hand-written because django-mailer and django-post-office send their database queue in batches from
a command or periodic job under one lock for the whole queue, while here each message is a Celery task
enqueued on commit, marked sent under its own row lock, and emptied of its body (which may hold a
one-time link) once sent.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from oauthcore.models import OutboundEmail

logger = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """A queued email still unsent after this long lost its task (a broker or worker crash): send again."""
    return timedelta(seconds=getattr(settings, "OUTBOX_RESEND_AFTER_SECONDS", 120))


SWEEP_BATCH = 200


def _message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def email_queue(*, kind: str, to: list[str] | str, subject: str, body: str, from_email: str = "") -> OutboundEmail:
    """Queue an email; it is delivered once the surrounding transaction commits (never if it rolls back).
    ``from_email`` (checked by the caller: one address, no line break) replaces ``DEFAULT_FROM_EMAIL``."""
    from oauthcore.tasks import deliver_email
    from portal.platform.tasks_base import enqueue_on_commit

    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("An email needs at least one recipient.")
    email = OutboundEmail.objects.create(
        kind=kind, to=recipients, from_email=from_email, subject=subject, body=body, message_id=_message_id()
    )
    enqueue_on_commit(deliver_email, email.pk)
    return email


def email_deliver(*, email_id: int) -> bool:
    """Send one queued email unless it was sent already. True when this call sent it.

    The row stays locked while the message goes out, so a second delivery of the same email
    waits and then finds it sent. A failure is recorded and raised again for the task to retry.
    """
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.select_for_update().filter(pk=email_id, sent_at__isnull=True).first()
            if email is None:
                return False  # already sent, or gone with what it was about
            message = EmailMessage(
                subject=email.subject,
                body=email.body,
                from_email=email.from_email or settings.DEFAULT_FROM_EMAIL,
                to=email.to,
                headers={"Message-ID": email.message_id},
            )
            message.send()
            email.sent_at = timezone.now()
            email.attempts += 1
            email.body = ""
            email.last_error = ""
            email.save(update_fields=["sent_at", "attempts", "body", "last_error"])
            return True
    except Exception as exc:
        OutboundEmail.objects.filter(pk=email_id, sent_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:2000]
        )
        logger.warning("Email %s not delivered yet: %s", email_id, exc.__class__.__name__)
        raise


def emails_resend_stale(*, now=None) -> int:
    """Queue delivery again for emails whose task was lost; returns how many."""
    from oauthcore.tasks import deliver_email

    cutoff = (now or timezone.now()) - stale_after()
    stale = list(
        OutboundEmail.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for email_id in stale:
        deliver_email.delay(email_id)
    return len(stale)
