"""PostgreSQL: no audited request waits for another transaction, entries are sealed in commit
order, and the trigger lets nothing but sealing change an entry."""

import threading
import time

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client

from oauthcore.audit import Actor, record_event
from oauthcore.audit_chain import seal, verify_chain
from oauthcore.models import AuditEvent

ACTOR = Actor.system("tests")
TABLE = AuditEvent._meta.db_table
HOLD_SECONDS = 5
ANSWERED_WITHIN_SECONDS = 1.5
PASSWORD = "a long demo passphrase 1"


class HeldTransaction(threading.Thread):
    """A transaction that has written an audit entry and stays open (a slow admin save, a long
    data migration) for ``seconds``, or until its ``with`` block ends."""

    def __init__(self, seconds: float = 30):
        super().__init__()
        self.seconds, self.holding, self.released, self.entry_id = seconds, threading.Event(), threading.Event(), None

    def run(self):
        try:
            with transaction.atomic():
                self.entry_id = record_event(actor=ACTOR, action="test.long_transaction").pk
                self.holding.set()
                self.released.wait(self.seconds)
        finally:
            connections.close_all()

    def __enter__(self):
        self.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.join(30)


@pytest.mark.django_db(transaction=True)
def test_denials_and_failed_logins_are_answered_while_a_transaction_holds_an_audit_entry(
    oauth_tenant, django_user_model, fast_password_hashing
):
    django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)
    m2m = oauth_tenant.m2m
    own = {"grant_type": "client_credentials", "client_id": m2m.application.client_id}
    secret = {**own, "client_secret": m2m.client_secret}
    audience = {"audience": oauth_tenant.api.identifier}
    refused = [
        ("/oauth/token", {**own, "client_secret": "wrong", **audience}, 401, None),
        ("/oauth/token", {**own, "client_id": "no-such-client", "client_secret": "x", **audience}, 401, None),
        ("/oauth/token", {**secret, "audience": "https://unknown.example.com/"}, 403, "access.denied"),
        ("/oauth/token", {**secret, **audience, "scope": "write:things"}, 403, "access.denied"),
        ("/login", {"username": "alice", "password": "wrong"}, 200, "user.login_failed"),
        ("/login", {"username": "ghost", "password": "wrong"}, 200, "user.login_failed"),
    ] * 2
    before = seal()  # the fixtures' own entries
    with HeldTransaction(seconds=HOLD_SECONDS) as held:
        answers = []
        for n, (path, data, _status, _action) in enumerate(refused):
            started = time.monotonic()
            response = Client(REMOTE_ADDR=f"10.0.1.{n}").post(path, data)
            answers.append((path, response.status_code, round(time.monotonic() - started, 3)))
        assert [status for _path, status, _seconds in answers] == [status for _p, _d, status, _a in refused]
        assert all(seconds < ANSWERED_WITHIN_SECONDS for _path, _status, seconds in answers), answers
        assert held.is_alive(), "the requests were not all answered while the transaction was open"
        # The sealer does not wait for it either: it chains what has committed.
        started = time.monotonic()
        assert seal() == 8 and time.monotonic() - started < ANSWERED_WITHIN_SECONDS
        held.join(HOLD_SECONDS + 10)  # the transaction commits when its time is up
    audited = [action for _p, _d, _s, action in refused if action]
    entries = list(AuditEvent.objects.filter(action__in=set(audited)).values_list("action", "sequence"))
    assert sorted(action for action, _sequence in entries) == sorted(audited)
    assert all(sequence is not None for _action, sequence in entries)
    assert seal() == 1  # the held entry, now committed
    held_entry = AuditEvent.objects.get(pk=held.entry_id)
    assert held_entry.sequence == before + 9 > max(sequence for _action, sequence in entries)
    report = verify_chain()
    assert report.intact and (report.checked, report.pending) == (before + 9, 0)


@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_after_a_newer_one_is_sealed_after_it_and_the_chain_verifies():
    with HeldTransaction() as held:
        newer = record_event(actor=ACTOR, action="test.newer")  # autocommit: committed at once
        assert held.entry_id < newer.pk  # started first, so drew the lower id
        assert seal() == 1
        assert verify_chain().pending == 0  # the held entry is not visible yet, so not counted (nor skipped)
    assert seal() == 1
    order = list(AuditEvent.objects.order_by("sequence").values_list("id", "sequence"))
    assert order == [(newer.pk, 1), (held.entry_id, 2)]
    report = verify_chain()
    assert report.intact and (report.checked, report.pending) == (2, 0)


@pytest.mark.django_db
def test_the_trigger_lets_only_sealing_change_an_entry():
    sealed = record_event(actor=ACTOR, action="test.sealed")
    seal()
    pending = record_event(actor=ACTOR, action="test.pending")
    refused = [
        (f"UPDATE {TABLE} SET reason = 'x' WHERE id = %s", pending.pk),  # noqa: S608
        (f"UPDATE {TABLE} SET sequence = 99, reason = 'x' WHERE id = %s", pending.pk),  # noqa: S608  sealing, and more
        (f"DELETE FROM {TABLE} WHERE id = %s", pending.pk),  # noqa: S608
        (f"UPDATE {TABLE} SET sequence = NULL, entry_hash = '' WHERE id = %s", sealed.pk),  # noqa: S608  unsealing
        (f"UPDATE {TABLE} SET sequence = 99 WHERE id = %s", sealed.pk),  # noqa: S608  sealing again
    ]
    for sql, pk in refused:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])
    assert seal() == 1
    report = verify_chain()
    assert report.intact and (report.checked, report.pending) == (2, 0)
