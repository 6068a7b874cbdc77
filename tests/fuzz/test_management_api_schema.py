"""schemathesis over the management API's own OpenAPI document (/api/v2/schema): every operation,
a bounded number of generated requests each, with a real management token the server issued.
No 5xx, and every response (status, content type, headers, body) matches the schema."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.checks import positive_data_acceptance

from tests.fuzz.budget import FUZZ_OPERATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process_requests():
    """Requests go through the WSGI handler in this thread, inside the test's transaction: like
    Django's test client, keep the handler from closing the database connection after each one.
    (After management_token: the test client puts the handlers back when it is done.)"""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Read from the running application, exactly as a client reads it (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi(
    "/api/v2/schema?format=json",
    get_wsgi_application(),
)


@schema.parametrize()
@FUZZ_OPERATION
def test_every_operation_conforms(case, management_token, in_process_requests):
    # Every check but one: a schema-valid body may still break a rule the schema cannot state
    # (a unique name, a URL that must be absolute, a strong password, exactly one of two
    # properties); that is a 400 in the documented envelope, which the other checks verify.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {management_token}"},
        excluded_checks=[positive_data_acceptance],
    )
