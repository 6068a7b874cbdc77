"""Two browsers racing with one reset link: one new password wins, the other is told the link was
used; the row lock makes the second wait and then find the link spent (or void: the password changed).

Collected when the suite runs on PostgreSQL (tests/conftest.py), like the other races.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from oauthcore.models import AuditEvent
from oauthcore.services.account_links import account_link_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_password_hashing")]


def test_two_resets_racing_with_one_link_set_one_password(actor):
    user = get_user_model().objects.create_user(username="gus", email="gus@example.com", password="gus old pass 1")
    issued = account_link_issue(actor=actor, user=user, purpose="reset_password")
    path = urlsplit(issued.url).path
    passwords = ["first racing passphrase 1", "second racing passphrase 2"]
    start = threading.Barrier(2)

    def race(password):
        try:
            start.wait()
            response = Client().post(path, {"password": password, "password_again": password})
            return response.status_code, password
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(race, passwords))

    assert [status for status, _ in answers] == [200, 410]
    winner = answers[0][1]
    user.refresh_from_db()
    assert user.check_password(winner)
    assert AuditEvent.objects.filter(action="account_link.redeem").count() == 1
    assert AuditEvent.objects.filter(action="user.password_change", target_id=str(user.pk)).count() == 1


def test_two_accounts_racing_to_take_one_address_leave_it_to_one(actor):
    """Two accounts' email change links to the same address, confirmed at once: the first takes it,
    verified; the other waits on the user rows' constraint and gets the 409 page, keeping its address."""
    User = get_user_model()
    users = [
        User.objects.create_user(username=name, email=f"{name}@example.com", password="racing passphrase 3")
        for name in ("hal", "ivy")
    ]
    paths = [
        urlsplit(account_link_issue(actor=actor, user=u, purpose="change_email", email="shared@example.com").url).path
        for u in users
    ]
    start = threading.Barrier(2)

    def race(path):
        try:
            start.wait()
            return Client().post(path).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(race, paths))

    assert answers == [200, 409]
    holders = User.objects.filter(email="shared@example.com", email_verified=True)
    assert holders.count() == 1
    loser = User.objects.exclude(pk=holders.get().pk).get(pk__in=[u.pk for u in users])
    assert loser.email in ("hal@example.com", "ivy@example.com")
    assert AuditEvent.objects.filter(action="account_link.redeem").count() == 1
