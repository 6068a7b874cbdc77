"""The login lockout counts per account with PostgreSQL's own case folding, Unicode included.

Collected when the suite runs on PostgreSQL (tests/conftest.py): SQLite's case-insensitive match
folds ASCII letters only, so these spellings would not reach the account there at all.
"""

import pytest

from tests.oauthcore.test_security_signin import PASSWORD, login

pytestmark = pytest.mark.django_db


def test_unicode_case_variants_of_the_email_share_the_account_allowance(django_user_model, three_failures_lock):
    """PostgreSQL matches "ÄLICE@…", "älice@…" and "äl\u0131ce@…" (a dotless i, which ``UPPER``
    turns into I) to one address: each spelling is the account, so each spends its allowance."""
    django_user_model.objects.create_user(username="alice", email="älice@example.com", password=PASSWORD)
    variants = ["alice", "älice@example.com", "ÄLICE@EXAMPLE.COM", "äl\u0131ce@example.com", "ÄLIce@example.com"]
    # Each spelling reaches the account: the right password logs in with any of them.
    assert all(login(name, PASSWORD, address=f"10.0.8.{n}").status_code == 302 for n, name in enumerate(variants))

    assert login("äl\u0131ce@example.com", "wrong 1").status_code == 200
    assert login("ÄLICE@EXAMPLE.COM", "wrong 2").status_code == 200
    assert login("alice", "wrong 3").status_code == 429
    assert [login(name, PASSWORD).status_code for name in variants] == [429] * len(variants)
