"""Rotating a client secret with a grace period: both secrets work until the old one expires.

Client authentication is exercised where clients meet it: the token, revocation and
introspection endpoints, with the secret in the body and in HTTP Basic.
"""

import base64
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauthcore.models import AuditEvent, PreviousClientSecret
from oauthcore.services.applications import (
    MAX_PREVIOUS_SECRETS,
    application_create,
    application_rotate_secret,
    previous_secret_revoke,
    previous_secrets_retire,
)
from oauthcore.tasks import retire_previous_client_secrets
from tests.celery_worker import wait_for

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def api(make_api):
    return make_api(identifier="https://orders.example.com/", scopes=[("read:orders", "Read orders")])


@pytest.fixture
def issued(actor, api, make_grant):
    issued = application_create(actor=actor, name="Partner sync", app_type="non_interactive", is_first_party=False)
    make_grant(api, client=issued.application, scope=["read:orders"])
    return issued


def token(client, issued, secret, *, basic=False):
    data = {"grant_type": "client_credentials", "audience": "https://orders.example.com/"}
    client_id = issued.application.client_id
    if basic:
        credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return client.post("/oauth/token", data, HTTP_AUTHORIZATION=f"Basic {credentials}")
    return client.post("/oauth/token", {**data, "client_id": client_id, "client_secret": secret})


def expire(application):
    past = timezone.now() - timedelta(seconds=1)
    PreviousClientSecret.objects.filter(application=application).update(expires_at=past)


def test_both_secrets_get_tokens_during_the_grace_period(client, actor, issued):
    old = issued.client_secret
    new = application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    assert new != old
    assert issued.application.client_secret_hint == new[-4:]  # the caller's instance is the stored row
    for secret in (old, new):
        for basic in (False, True):
            response = token(client, issued, secret, basic=basic)
            assert response.status_code == 200, response.json()
            assert response.json()["scope"] == "read:orders"
    assert token(client, issued, "not-the-secret").json()["error"] == "invalid_client"


def test_the_old_secret_is_refused_once_expired_even_before_it_is_retired(client, actor, issued):
    old = issued.client_secret
    new = application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    expire(issued.application)
    assert PreviousClientSecret.objects.filter(application=issued.application).exists()  # not retired yet
    response = token(client, issued, old)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert token(client, issued, old, basic=True).status_code == 401

    assert previous_secrets_retire() == 1
    assert not PreviousClientSecret.objects.exists()
    assert token(client, issued, old).status_code == 401
    assert token(client, issued, new).status_code == 200
    event = AuditEvent.objects.get(action="client.previous_secret_retire")
    assert event.data["hint"] == old[-4:] and event.target_id == str(issued.application.pk)


def test_the_previous_secret_is_stored_only_as_a_digest(actor, issued):
    old = issued.client_secret
    application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    previous = PreviousClientSecret.objects.get()
    assert previous.secret.startswith("portcullis_client_secret$")
    assert old not in previous.secret
    assert previous.hint == old[-4:]
    assert timezone.now() + DAY - timedelta(minutes=1) < previous.expires_at <= timezone.now() + DAY
    event = AuditEvent.objects.filter(action="client.rotate_secret").latest("id")
    assert event.data["grace_seconds"] == 86400
    assert old not in str(event.data)


def test_rotation_without_grace_stops_every_older_secret_at_once(client, actor, issued):
    first = issued.client_secret
    second = application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    third = application_rotate_secret(actor=actor, application=issued.application)  # the admin's and API's way
    assert not PreviousClientSecret.objects.exists()
    assert token(client, issued, first).status_code == 401
    assert token(client, issued, second).status_code == 401
    assert token(client, issued, third).status_code == 200


def test_at_most_two_previous_secrets_stay_valid(client, actor, issued):
    secrets = [issued.client_secret]
    for _ in range(MAX_PREVIOUS_SECRETS + 1):
        secrets.append(application_rotate_secret(actor=actor, application=issued.application, grace=DAY))
    assert PreviousClientSecret.objects.count() == MAX_PREVIOUS_SECRETS
    assert token(client, issued, secrets[0]).status_code == 401  # the oldest was retired by the third rotation
    for secret in secrets[1:]:
        assert token(client, issued, secret).status_code == 200


def test_a_grace_period_is_between_none_and_seven_days(actor, issued):
    for grace in (timedelta(days=8), timedelta(seconds=-1)):
        with pytest.raises(ValidationError) as excinfo:
            application_rotate_secret(actor=actor, application=issued.application, grace=grace)
        assert excinfo.value.message_dict["grace"] == ["The grace period is between none and 7 days."]
    issued.application.refresh_from_db()  # the secret did not change
    assert not PreviousClientSecret.objects.exists()
    assert issued.application.client_secret_hint == issued.client_secret[-4:]


def test_ending_a_grace_period_early(client, actor, issued):
    old = issued.client_secret
    application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    previous_secret_revoke(actor=actor, previous=PreviousClientSecret.objects.get())
    assert token(client, issued, old).status_code == 401
    assert AuditEvent.objects.filter(action="client.previous_secret_revoke").exists()


def test_revocation_and_introspection_accept_the_previous_secret(client, actor, issued, api):
    api.client = issued.application  # this app may introspect the API's tokens
    api.save(update_fields=["client"])
    access_token = token(client, issued, issued.client_secret).json()["access_token"]
    old = issued.client_secret
    application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    credentials = {"client_id": issued.application.client_id, "client_secret": old}

    introspection = client.post("/oauth/introspect", {"token": access_token, **credentials})
    assert introspection.status_code == 200 and introspection.json()["active"] is True
    assert client.post("/oauth/revoke", {"token": access_token, **credentials}).status_code == 200
    assert client.post("/oauth/introspect", {"token": access_token, **credentials}).json() == {"active": False}

    expire(issued.application)
    assert client.post("/oauth/introspect", {"token": access_token, **credentials}).status_code == 401


def queries_on_previous_secrets(captured) -> int:
    return sum(PreviousClientSecret._meta.db_table in query["sql"] for query in captured.captured_queries)


def test_the_current_secret_never_reads_previous_secrets(client, actor, issued):
    new = application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    token(client, issued, new)  # the signing key is loaded once per process
    with CaptureQueriesContext(connection) as current:
        assert token(client, issued, new).status_code == 200
    assert queries_on_previous_secrets(current) == 0
    with CaptureQueriesContext(connection) as previous:
        assert token(client, issued, issued.client_secret).status_code == 200
    assert queries_on_previous_secrets(previous) == 1
    assert len(previous.captured_queries) == len(current.captured_queries) + 1


def test_a_wrong_secret_costs_one_query_more(client, actor, issued):
    with CaptureQueriesContext(connection) as wrong:
        assert token(client, issued, "wrong").status_code == 401
    assert queries_on_previous_secrets(wrong) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_the_periodic_task_retires_expired_secrets(actor, issued):
    application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    application_rotate_secret(actor=actor, application=issued.application, grace=DAY)
    PreviousClientSecret.objects.filter(pk=PreviousClientSecret.objects.order_by("pk").first().pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    retire_previous_client_secrets.delay()
    wait_for(lambda: PreviousClientSecret.objects.count() == 1, message="the task deletes the expired secret only")
    assert PreviousClientSecret.objects.get().expires_at > timezone.now()
