"""Conventions every Portcullis task follows, and the one way to enqueue one.

Tasks are idempotent, acknowledged late (a worker killed mid-task leaves the message on the
broker) and retried with exponential backoff. They are enqueued only once the surrounding
transaction commits, so a worker never sees a row that a rollback later removes.
"""

from functools import partial

from celery import shared_task
from django.db import transaction

RETRY_POLICY = {
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


def portcullis_task(func=None, **options):
    """``shared_task`` with the project's retry and acknowledgement policy."""
    if func is None:
        return partial(portcullis_task, **options)
    return shared_task(**{**RETRY_POLICY, **options})(func)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send ``task`` to the broker after the current transaction commits (now, outside one)."""
    transaction.on_commit(partial(task.delay, *args, **kwargs))
