"""The email outbox: queued with a change, delivered once over real SMTP (by a real worker in CI)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oauthcore.models import OutboundEmail
from oauthcore.outbox import email_deliver, email_queue, emails_resend_stale, stale_after
from oauthcore.tasks import deliver_email
from tests.celery_worker import wait_for, wait_until_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def queue(**overrides):
    fields = {"kind": "test.hello", "to": "dev@acme.example.com", "subject": "Hello", "body": "A link: https://x/1"}
    with transaction.atomic():
        return email_queue(**{**fields, **overrides})


def test_a_queued_email_arrives_once_and_its_body_is_dropped(smtp, celery_worker):
    email = queue()
    [message] = smtp.wait_for_messages(1)
    assert message["Subject"] == "Hello"
    assert message["To"] == "dev@acme.example.com"
    assert message["Message-ID"] == email.message_id
    assert "https://x/1" in message.get_content()
    sent = wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, sent_at__isnull=False).first())
    assert sent.body == "" and sent.attempts == 1

    # Delivering it again (a retried or duplicated task) sends nothing more.
    deliver_email.delay(email.pk)
    assert email_deliver(email_id=email.pk) is False
    if celery_worker is not None:
        wait_until_idle(celery_worker)
    assert len(smtp.messages) == 1


def test_nothing_is_sent_when_the_change_rolls_back(smtp):
    with pytest.raises(RuntimeError), transaction.atomic():
        email_queue(kind="test.hello", to=["a@example.com"], subject="Never", body="")
        raise RuntimeError("the change failed")
    queue(subject="After")  # a later email still goes out, and alone
    [message] = smtp.wait_for_messages(1)
    assert message["Subject"] == "After"
    assert not OutboundEmail.objects.filter(subject="Never").exists()


def test_a_failed_delivery_is_recorded_and_sent_by_the_sweep_later(smtp, settings):
    email = OutboundEmail.objects.create(kind="test.hello", to=["a@example.com"], subject="Late", message_id="<x@y>")
    settings.EMAIL_PORT = 9  # nothing listens on the discard port: the SMTP server is "down"
    with pytest.raises(OSError):
        email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.sent_at is None and email.attempts == 1 and email.last_error

    # The sweep leaves a recent email to its own task, and picks up one whose task was lost.
    assert emails_resend_stale() == 0
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=timezone.now() - stale_after() - timedelta(seconds=1))
    settings.EMAIL_PORT = smtp.port
    assert emails_resend_stale() == 1
    [message] = smtp.wait_for_messages(1)
    assert message["Subject"] == "Late"
    assert wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).sent_at)


def test_an_email_needs_a_recipient():
    with pytest.raises(ValueError, match="recipient"):
        email_queue(kind="test.hello", to=[], subject="Nobody", body="")
