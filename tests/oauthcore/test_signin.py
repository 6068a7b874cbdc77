"""Sign-in limits over HTTP (/login and the admin's login): per address, and a lockout per account
name, account and address that always ends, is the same for unknown names, and is audited."""

import time

import pytest
from django.test import Client

from oauthcore.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a long demo passphrase 1"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)


@pytest.fixture
def limits(settings):
    def set_limits(**rates):
        settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": rates}

    return set_limits


def login(address: str, username: str, password: str, path: str = "/login"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def error_text(response) -> str:
    return response.content.decode()


def test_failed_logins_lock_the_name_out_from_that_address_only(alice, limits):
    limits(login_failures="3/15m")
    for _ in range(2):
        assert login("10.0.0.1", "alice", "wrong").status_code == 200
    locking = login("10.0.0.1", "alice", "wrong")  # the third failure starts the lockout
    assert locking.status_code == 429 and locking["Retry-After"] == "900"
    assert "Too many requests. Try again in 15 minutes." in error_text(locking)

    refused = login("10.0.0.1", "alice", PASSWORD)  # even the right password, from there
    assert refused.status_code == 429 and refused["Retry-After"] in {"899", "900"}
    assert "Too many requests. Try again in 15 minutes." in error_text(refused)

    # Somebody hammering from elsewhere cannot keep alice out: she logs in from her own address.
    assert login("10.0.0.2", "alice", PASSWORD).status_code == 302

    actions = list(AuditEvent.objects.order_by("id").values_list("action", "target_id", "data"))
    assert [a for a, _t, _d in actions] == [
        "user.login_failed",
        "user.login_failed",
        "user.login_failed",
        "user.lockout",
        "user.login",
    ]
    assert all(target == str(alice.pk) for _a, target, _d in actions)
    assert actions[3][2] == {"address": "10.0.0.1", "seconds": 900}
    assert actions[4][2] == {"address": "10.0.0.2"}


def test_unknown_names_get_exactly_the_same_answers(alice, limits):
    limits(login_failures="2/15m")

    def answers(username):
        responses = [login("10.0.0.9", username, "wrong") for _ in range(3)]
        return [(r.status_code, r.get("Retry-After"), error_text(r).count("Too many requests")) for r in responses]

    assert answers("alice") == answers("ghost") == [(200, None, 0), (429, "900", 1), (429, "900", 1)]
    failed = AuditEvent.objects.filter(action="user.login_failed").order_by("id")
    assert [event.reason for event in failed] == [
        "Wrong password.",
        "Wrong password.",
        "No such account.",
        "No such account.",
    ]


def test_a_lockout_expires_and_hammering_does_not_extend_it(alice, limits):
    limits(login_failures="2/2s")
    login("10.0.0.3", "alice", "wrong")
    assert login("10.0.0.3", "alice", "wrong").status_code == 429  # locked for 2 seconds
    locked_at = time.time()
    while time.time() - locked_at < 1.5:  # attempts while locked are refused and not counted
        assert login("10.0.0.3", "alice", "wrong").status_code == 429
        time.sleep(0.2)
    time.sleep(max(0.0, locked_at + 2.2 - time.time()))
    assert login("10.0.0.3", "alice", PASSWORD).status_code == 302


def test_a_successful_login_forgets_earlier_failures(alice, limits):
    limits(login_failures="3/15m")
    for _ in range(2):
        login("10.0.0.4", "alice", "wrong")
    assert login("10.0.0.4", "alice", PASSWORD).status_code == 302
    for _ in range(2):
        assert login("10.0.0.4", "alice", "wrong").status_code == 200  # counting starts again


def test_the_name_in_any_case_and_its_account_are_locked(alice, limits):
    """Locking "alice" locks "alice@example.com" too: otherwise each name of an account would
    get its own allowance of guesses."""
    limits(login_failures="1/15m")
    assert login("10.0.0.5", "alice", "wrong").status_code == 429
    assert login("10.0.0.5", "ALICE", "wrong").status_code == 429  # the same name, any case
    assert login("10.0.0.5", "alice@example.com", PASSWORD).status_code == 429


def test_every_attempt_counts_per_address(alice, limits):
    limits(login_address="3/m")
    assert [login("10.0.0.6", name, "wrong").status_code for name in ("a", "b", "c")] == [200, 200, 200]
    refused = login("10.0.0.6", "alice", PASSWORD)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert login("10.0.0.7", "alice", PASSWORD).status_code == 302
    assert not AuditEvent.objects.filter(action="user.login", data__address="10.0.0.6").exists()


def test_the_admin_login_has_the_same_limits(django_user_model, limits):
    django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    limits(login_failures="2/15m")
    assert login("10.0.0.8", "root", "wrong", "/admin/login/").status_code == 200
    locking = login("10.0.0.8", "root", "wrong", "/admin/login/")
    assert locking.status_code == 429 and locking["Retry-After"] == "900"
    assert "Too many requests. Try again in 15 minutes." in error_text(locking)
    assert login("10.0.0.8", "root", PASSWORD, "/admin/login/").status_code == 429
    assert login("10.0.0.9", "root", PASSWORD, "/admin/login/").status_code == 302
    assert AuditEvent.objects.filter(action="user.lockout").count() == 1


def test_the_address_behind_a_trusted_proxy(alice, settings, limits):
    limits(login_address="1/m")
    settings.PORTCULLIS = {**settings.PORTCULLIS, "TRUSTED_PROXY_HOPS": 1}
    client = Client(REMOTE_ADDR="10.1.1.1")
    first = client.post("/login", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
    assert first.status_code == 200
    # Another client behind the same proxy, with a forged left-most entry: a different address.
    other = client.post("/login", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.2")
    assert other.status_code == 200
    again = client.post("/login", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="7.7.7.7, 192.0.2.1")
    assert again.status_code == 429
