"""Two token requests racing with one authorization code: never two tokens, and the code's use
counts as a replay, so the winner's token is revoked too (RFC 6749 §4.1.2).

Collected when the suite runs on PostgreSQL (tests/conftest.py): it needs two connections writing
at once, which the embedded SQLite database serializes differently.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from oauthcore.models import AccessToken, Grant
from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_exchanges_racing_with_one_code_leave_no_token(client, partner_web, crowded):
    issued, user = partner_web
    client.force_login(user)
    code = code_from(client.get(authorize_path(issued.application, crowded.identifier)))
    data = exchange(issued, code)
    start = threading.Barrier(2)

    def race(_):
        try:
            start.wait()
            response = Client().post("/oauth/token", data)
            return response.status_code, response.json().get("error")  # JSON, whoever wins
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(race, range(2)))
    assert answers == [(200, None), (400, "invalid_grant")]
    assert not AccessToken.objects.filter(application=issued.application).exists()
    assert not Grant.objects.filter(code=code).exists()
