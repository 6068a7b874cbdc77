import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.fixture
def management_token(db):
    """Bootstrap an automation client with the documented command and ask the token endpoint."""
    out = StringIO()
    call_command("create_management_client", "--name", "Fuzzer", stdout=out)
    created = json.loads(out.getvalue())
    response = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "audience": created["audience"],
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
