"""Background tasks: expired token cleanup, through the broker and a real worker when one is configured."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.signals import before_task_publish, task_prerun
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oauthcore.models import AccessToken, Grant
from oauthcore.tasks import clear_expired_tokens
from portal.celery import app as celery_app
from portal.platform.tasks_base import enqueue_on_commit
from tests.celery_worker import wait_for

TASK_NAME = "oauthcore.tasks.clear_expired_tokens"


@contextmanager
def task_activity():
    """Record, in this process, which tasks were sent to the broker and which ran here (eagerly)."""
    seen = {"published": [], "ran_here": []}

    def on_publish(sender=None, **kwargs):
        seen["published"].append(sender)

    def on_prerun(sender=None, **kwargs):
        seen["ran_here"].append(sender.name)

    before_task_publish.connect(on_publish, weak=False)
    task_prerun.connect(on_prerun, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(on_publish)
        task_prerun.disconnect(on_prerun)


@pytest.fixture
def tokens(make_api, make_app):
    api = make_api()
    app = make_app()
    user = get_user_model().objects.create_user("token-owner", "owner@example.com", "irrelevant-password")
    past, future = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)
    expired = [
        AccessToken.objects.create(token=f"expired-{n}", expires=past, application=app, resource=[api.identifier])
        for n in range(3)
    ]
    live = AccessToken.objects.create(token="live", expires=future, application=app, resource=[api.identifier])
    expired_code = Grant.objects.create(
        code="expired-code",
        expires=past,
        application=app,
        user=user,
        redirect_uri="https://app.example.com/callback",
        resource=[api.identifier],
    )
    live_code = Grant.objects.create(
        code="live-code",
        expires=future,
        application=app,
        user=user,
        redirect_uri="https://app.example.com/callback",
        resource=[api.identifier],
    )
    return {"expired": expired, "live": live, "expired_code": expired_code, "live_code": live_code}


def expired_gone(tokens) -> bool:
    return (
        not AccessToken.objects.filter(pk__in=[t.pk for t in tokens["expired"]]).exists()
        and not Grant.objects.filter(pk=tokens["expired_code"].pk).exists()
    )


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_clear_expired_tokens_runs_after_commit_and_keeps_live_tokens(tokens, celery_worker):
    with task_activity() as seen, transaction.atomic():
        enqueue_on_commit(clear_expired_tokens)
        # Nothing leaves the transaction before it commits.
        assert seen == {"published": [], "ran_here": []}

    wait_for(
        lambda: expired_gone(tokens),
        message=celery_worker.log_tail() if celery_worker else "the task ran eagerly",
    )
    assert AccessToken.objects.filter(pk=tokens["live"].pk).exists()
    assert Grant.objects.filter(pk=tokens["live_code"].pk).exists()
    if celery_worker:  # sent through the broker and run by the worker process, not here
        assert seen == {"published": [TASK_NAME], "ran_here": []}
    else:
        assert seen == {"published": [], "ran_here": [TASK_NAME]}


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_task_enqueued_in_a_rolled_back_transaction_never_runs(tokens, celery_worker):
    with task_activity() as seen:
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(clear_expired_tokens)
            raise RuntimeError("roll back")
        assert seen == {"published": [], "ran_here": []}

    # Nothing was sent to the broker or run here, so nothing can run later: the expired rows stay.
    assert AccessToken.objects.filter(pk__in=[t.pk for t in tokens["expired"]]).count() == 3
    assert Grant.objects.filter(pk=tokens["expired_code"].pk).exists()


def test_clear_expired_tokens_runs_on_a_schedule_with_a_registered_task():
    # What the worker and beat do at startup: import every app's tasks module.
    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert celery_app.conf.beat_schedule == schedule
    assert {entry["task"] for entry in schedule.values()} >= {TASK_NAME}
    for name, entry in schedule.items():
        assert entry["task"] in celery_app.tasks, f"beat entry {name!r} names an unregistered task"
