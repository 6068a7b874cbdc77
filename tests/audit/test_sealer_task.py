"""The sealer runs as a Celery beat task: through the broker and a real worker when there is one."""

import pytest
from celery.schedules import crontab
from django.conf import settings

from oauthcore.audit import Actor, record_event
from oauthcore.audit_chain import verify_chain
from oauthcore.tasks import seal_audit_log
from portal.celery import app
from tests.celery_worker import wait_for


def test_beat_runs_the_sealer_every_minute():
    (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == seal_audit_log.name]
    assert entry["schedule"] == crontab(minute="*")
    app.loader.import_default_modules()
    assert seal_audit_log.name in app.tasks


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_the_task_seals_what_was_written():
    for n in range(3):
        record_event(actor=Actor.system("tests"), action="test.event", data={"n": n})
    assert verify_chain().pending == 3
    seal_audit_log.delay()
    report = wait_for(lambda: (report := verify_chain()).pending == 0 and report, message="entries still pending")
    assert report.intact and report.checked == 3
