"""``/account/apps`` names each API as its users know it (its name, the identifier only beside it,
small), in a bounded number of queries however many apps the user has authorized."""

import pytest

from consent.services import user_grant_record
from oauthcore.access_tokens import userinfo_audience

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="erin", email="erin@example.com", password=None)


def test_each_consent_shows_the_apis_name_not_its_url(client, user, make_app, make_api):
    orders = make_api(identifier="https://orders.example.com/", name="Orders API")
    user_grant_record(
        user=user, client=make_app(name="Acme Order Sync"), audience=orders.identifier, scopes=["read:things"]
    )
    user_grant_record(user=user, client=make_app(name="Sign-in only"), audience=userinfo_audience(), scopes=["openid"])
    client.force_login(user)
    body = client.get("/account/apps").content.decode()
    assert (
        'On <strong class="api-name">Orders API</strong> <code class="identifier">https://orders.example.com/</code></p>'
        in body
    )
    # A consent to sign in only (no API): the user's own account, as the consent screen says.
    assert 'On <strong class="api-name">Your account</strong></p>' in body
    assert f"<code>{userinfo_audience()}</code>" not in body and userinfo_audience() not in body


def test_an_api_that_is_gone_is_shown_by_its_identifier(client, user, make_app):
    user_grant_record(user=user, client=make_app(), audience="https://gone.example.com/", scopes=["read:things"])
    client.force_login(user)
    body = client.get("/account/apps").content.decode()
    assert 'On <strong class="api-name">https://gone.example.com/</strong></p>' in body


def queries_for(client, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get("/account/apps").status_code == 200
    return len(captured.captured_queries)


def test_the_page_costs_the_same_for_one_app_or_many(client, user, make_app, make_api, django_assert_max_num_queries):
    client.force_login(user)
    api = make_api()
    user_grant_record(user=user, client=make_app(name="first"), audience=api.identifier, scopes=["read:things"])
    one = queries_for(client, django_assert_max_num_queries, 10)
    for n in range(5):
        other = make_api()
        user_grant_record(
            user=user, client=make_app(name=f"app {n}"), audience=other.identifier, scopes=["read:things"]
        )
    assert queries_for(client, django_assert_max_num_queries, 10) == one
