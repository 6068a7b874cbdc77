"""The login lockout counts per account as well as per name: an attacker who alternates an
account's username, its email address and every case spelling the database matches still gets
only the allowed number of wrong passwords before the lockout."""

import pytest
from django.test import Client

from oauthcore.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a long demo passphrase 1"
ADDRESS = "10.0.9.1"


def login(username: str, password: str, address: str = ADDRESS, path: str = "/login"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def test_username_and_email_share_one_allowance(django_user_model, three_failures_lock):
    django_user_model.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)
    assert login("alice", "wrong 1").status_code == 200
    assert login("alice@example.com", "wrong 2").status_code == 200
    locking = login("ALICE@Example.COM", "wrong 3")  # the third wrong password for the account
    assert locking.status_code == 429 and locking["Retry-After"] == "900"

    # Locked out from there under every name of the account, even with the right password...
    for name in ("alice", "alice@example.com", "Alice@EXAMPLE.com"):
        assert login(name, PASSWORD).status_code == 429
    # ...and only from there.
    assert login("alice@example.com", PASSWORD, address="10.0.9.2").status_code == 302
    assert AuditEvent.objects.filter(action="user.lockout", data__address=ADDRESS).count() == 1


def test_the_admin_login_shares_the_account_allowance(django_user_model, three_failures_lock):
    django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    assert login("root", "wrong 1", path="/admin/login/").status_code == 200
    assert login("root@example.com", "wrong 2").status_code == 200
    assert login("ROOT@EXAMPLE.COM", "wrong 3", path="/admin/login/").status_code == 429
    assert login("root", PASSWORD, path="/admin/login/").status_code == 429


def test_case_variants_of_an_unknown_name_share_one_allowance(three_failures_lock):
    """An unknown name is locked after the same count in any spelling, as a real account is: the
    lockout does not tell which names exist."""
    assert login("gho\u017ft@example.com", "wrong 1").status_code == 200
    assert login("GHOST@example.com", "wrong 2").status_code == 200
    assert login("ghost@EXAMPLE.com", "wrong 3").status_code == 429
