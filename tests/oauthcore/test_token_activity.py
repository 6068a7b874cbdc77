"""The token activity counter: every grant type's access token counted once, every denial counted,
and the upsert adding in place (never losing a count to a concurrent one).

With Redis as the cache (as in CI), issued tokens are counted there once their transaction commits
and reach the table when flushed: the tests that issue tokens therefore commit for real
(``transaction=True``), and every read of the table flushes first, as the console's dashboard does.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from consent.services import user_grant_record
from oauthcore.activity import (
    ActivityCount,
    add_token_activity,
    count_denied,
    count_issued,
    daily_activity,
    flush_token_activity,
)
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SubjectType
from oauthcore.models import AuditEvent, Connection, DeviceGrant, TokenActivity
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.services.device import device_grant_answer
from tests.oauthcore.flows import authorize_path, code_from, exchange

pytestmark = pytest.mark.django_db

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def counts(client_id: str) -> dict[str, tuple[int, int]]:
    """API identifier → (issued, denied), summed over the hours."""
    flush_token_activity(include_current_minute=True)
    found: dict[str, tuple[int, int]] = {}
    for row in TokenActivity.objects.filter(client_id=client_id):
        issued, denied = found.get(row.audience, (0, 0))
        found[row.audience] = (issued + row.issued, denied + row.denied)
    return found


@pytest.fixture
def user(actor):
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="dora", email="dora@example.com", password=None)


def client_credentials(oauth_tenant, audience=None) -> dict:
    return {
        "grant_type": "client_credentials",
        "client_id": oauth_tenant.m2m.application.client_id,
        "client_secret": oauth_tenant.m2m.client_secret,
        "audience": audience or oauth_tenant.api.identifier,
    }


@pytest.mark.django_db(transaction=True)
def test_client_credentials_count_one_issued_token_each(client, oauth_tenant):
    for _ in range(3):
        assert client.post("/oauth/token", client_credentials(oauth_tenant)).status_code == 200
    assert counts(oauth_tenant.m2m.application.client_id) == {oauth_tenant.api.identifier: (3, 0)}


@pytest.mark.django_db(transaction=True)
def test_a_code_exchange_and_a_refresh_each_count_one_issued_token(client, oauth_tenant, user):
    web, api = oauth_tenant.web, oauth_tenant.api
    scope = "offline_access read:things"
    user_grant_record(user=user, client=web.application, audience=api.identifier, scopes=scope.split())
    client.force_login(user)
    code = code_from(client.get(authorize_path(web.application, api.identifier, scope=scope)))
    tokens = client.post("/oauth/token", exchange(web, code)).json()
    assert counts(web.application.client_id) == {api.identifier: (1, 0)}

    refreshed = client.post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": web.application.client_id,
            "client_secret": web.client_secret,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    assert counts(web.application.client_id) == {api.identifier: (2, 0)}


@pytest.mark.django_db(transaction=True)
def test_a_code_used_twice_counts_only_the_token_that_stayed_issued_once(client, oauth_tenant, user):
    """The second exchange's token is rolled back with its transaction: so is its count."""
    web, api = oauth_tenant.web, oauth_tenant.api
    user_grant_record(user=user, client=web.application, audience=api.identifier, scopes=["read:things"])
    client.force_login(user)
    data = exchange(web, code_from(client.get(authorize_path(web.application, api.identifier))))
    assert client.post("/oauth/token", data).status_code == 200
    assert client.post("/oauth/token", data).status_code == 400
    assert counts(web.application.client_id) == {api.identifier: (1, 0)}


@pytest.mark.django_db(transaction=True)
def test_a_device_code_counts_one_issued_token(client, actor, oauth_tenant, user, make_grant):
    api = oauth_tenant.api
    device = application_create(
        actor=actor, name="TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    ).application
    make_grant(api, client=device, scope=["read:things"], subject_type=SubjectType.USER)
    code = client.post(
        "/oauth/device/code", {"client_id": device.client_id, "audience": api.identifier, "scope": "read:things"}
    ).json()
    device_grant_answer(
        grant=DeviceGrant.objects.get(device_code=code["device_code"]), user=user, approved_scopes=["read:things"]
    )
    poll = {"grant_type": DEVICE_GRANT, "device_code": code["device_code"], "client_id": device.client_id}
    answer = client.post("/oauth/token", poll)
    assert answer.status_code == 200, answer.content
    assert counts(device.client_id) == {api.identifier: (1, 0)}


def test_a_denied_request_is_counted_with_its_audit_entry(client, oauth_tenant, make_api):
    closed = make_api()  # an API the machine client has no grant for
    refused = client.post("/oauth/token", client_credentials(oauth_tenant, closed.identifier))
    assert refused.status_code == 403
    unknown = client.post("/oauth/token", client_credentials(oauth_tenant, "https://nowhere.example.com/"))
    assert unknown.status_code == 403
    # An API that does not exist is counted under no API: a caller cannot fill the charts with names.
    assert counts(oauth_tenant.m2m.application.client_id) == {closed.identifier: (0, 1), "": (0, 1)}
    assert AuditEvent.objects.filter(action="access.denied").count() == 2


def test_a_denied_authorize_request_is_counted(client, oauth_tenant, user, make_api):
    web, closed = oauth_tenant.web, make_api()
    client.force_login(user)
    client.get(authorize_path(web.application, closed.identifier))
    assert counts(web.application.client_id) == {closed.identifier: (0, 1)}


@pytest.mark.django_db(transaction=True)
def test_counts_add_up_in_place_per_minute_client_and_api():
    ten = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    count_issued(client_id="app", audience="https://a.example.com/")
    count_issued(client_id="app", audience="https://a.example.com/")
    count_denied(client_id="app", audience="https://a.example.com/")
    count_issued(client_id="app", audience=None)  # a token for /userinfo only
    count_denied(client_id=None, audience=None)  # nobody known asked for nothing known
    add_token_activity(
        [
            ActivityCount("app", "https://a.example.com/", issued=2, at=ten),
            ActivityCount("app", "https://a.example.com/", denied=1, at=ten + timedelta(seconds=40)),  # same minute
            ActivityCount("app", "https://a.example.com/", issued=1, at=ten + timedelta(minutes=1)),
        ]
    )
    flush_token_activity(include_current_minute=True)
    rows: dict[tuple, list[int]] = {}
    for row in TokenActivity.objects.all():  # what was counted just now: in this minute, or the next one
        key = ("now" if row.bucket >= started else row.bucket, row.client_id, row.audience)
        rows[key] = [a + b for a, b in zip(rows.get(key, [0, 0]), (row.issued, row.denied), strict=True)]
    rows = {key: tuple(value) for key, value in rows.items()}
    assert all(row.bucket.second == 0 for row in TokenActivity.objects.all())
    assert rows == {
        ("now", "app", "https://a.example.com/"): (2, 1),
        ("now", "app", ""): (1, 0),
        ("now", "", ""): (0, 1),
        (ten, "app", "https://a.example.com/"): (2, 1),
        (ten + timedelta(minutes=1), "app", "https://a.example.com/"): (1, 0),
    }


def test_a_count_never_goes_down_and_any_name_fits():
    with pytest.raises(ValueError, match="cannot be negative"):
        add_token_activity([ActivityCount("app", "", issued=-1)])
    count_denied(client_id="c" * 500, audience="https://example.com/\x00" + "a" * 1000)
    row = TokenActivity.objects.get()
    assert len(row.client_id) == 100 and len(row.audience) == 600 and row.denied == 1
    assert row.audience.startswith("https://example.com/\ufffdaaa")
    add_token_activity([])  # nothing to add: no statement
    add_token_activity([ActivityCount("app", "", issued=0, denied=0)])
    assert TokenActivity.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_of_one_row_are_never_lost():
    """Eight requests counting into the same row at once: every count lands (the upsert reads nothing
    first, so no two can both read n and write n + 1)."""
    start = threading.Barrier(8)

    def count(_):
        try:
            start.wait()
            for _ in range(25):
                count_issued(client_id="busy", audience="https://a.example.com/")
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(count, range(8)))
    flush_token_activity(include_current_minute=True)
    row = TokenActivity.objects.get()
    assert (row.client_id, row.issued, row.denied) == ("busy", 200, 0)


def test_daily_activity_keeps_the_busiest_apart_and_sums_the_rest():
    today = datetime.now(UTC).replace(hour=12)
    yesterday = today - timedelta(days=1)
    add_token_activity(
        [
            ActivityCount("a", "api", issued=10, at=today),
            ActivityCount("a", "api", issued=5, at=today.replace(hour=1)),  # same day, another hour
            ActivityCount("b", "api", issued=3, denied=4, at=yesterday),
            ActivityCount("c", "api", denied=2, at=today),
            ActivityCount("d", "api", issued=1, at=today),
            ActivityCount("old", "api", issued=99, at=today - timedelta(days=30)),  # outside the window
        ]
    )
    since = (today - timedelta(days=13)).replace(hour=0)
    activity = daily_activity(since=since, by="client_id", top=2)
    assert activity.keys == ("a", "b") and activity.has_others
    assert activity.by_day == {
        (today.date(), "a"): (15, 0),
        (yesterday.date(), "b"): (3, 4),
        (today.date(), None): (1, 2),
    }
    assert daily_activity(since=since, by="audience", top=5).keys == ("api",)
    assert not daily_activity(since=since, by="audience", top=5).has_others
    assert daily_activity(since=today + timedelta(days=1), by="audience", top=5).keys == ()
    with pytest.raises(ValueError):
        daily_activity(since=since, by="scope", top=5)
