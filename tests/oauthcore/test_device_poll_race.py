"""A device polling while the user's approval commits gets its tokens for that user (RFC 8628 §3.5).

Collected when the suite runs on PostgreSQL (tests/conftest.py): the poll must wait on the row
lock the approval holds, which only a server database runs in parallel.
"""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from oauthcore.constants import AppType, GrantType
from oauthcore.models import DeviceGrant
from oauthcore.services.applications import application_create
from oauthcore.services.device import device_grant_answer, device_grant_create, device_grant_poll

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_poll_that_waited_for_the_approval_sees_the_user_who_approved(actor, fast_password_hashing):
    app = application_create(
        actor=actor, name="Living Room TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    ).application
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "a long passphrase")
    grant = device_grant_create(application=app, audience=None, scopes=["openid"])
    answered, release = threading.Event(), threading.Event()

    def approve_and_hold_the_lock():
        try:
            with transaction.atomic():
                device_grant_answer(grant=grant, user=user, approved_scopes=["openid"])
                answered.set()
                release.wait(10)  # the poll below is now waiting for this row
        finally:
            connections.close_all()

    approver = threading.Thread(target=approve_and_hold_the_lock)
    approver.start()
    assert answered.wait(10)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    polled, error = device_grant_poll(device_code=grant.device_code, client=app)
    approver.join(10)

    assert time.monotonic() - started >= 0.4, "the poll should have waited for the approval's lock"
    assert error is None
    assert polled.user == user  # not None: the user the approval set while the poll waited
    assert polled.user.connection_id == user.connection_id
    assert DeviceGrant.objects.get(pk=grant.pk).status == DeviceGrant.EXPIRED  # used up, once
