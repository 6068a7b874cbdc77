"""The decision over real rows: what the simulator and the access matrix show a tenant admin."""

import pytest

from oauthcore.constants import AppType, DefaultFor, SubjectType, UserPolicy
from oauthcore.policy import Flow
from oauthcore.selectors import SimulatedRequest, access_matrix, simulate

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:orders", ""), ("write:orders", "")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


def test_simulated_client_credentials_uses_the_apps_own_grant(make_app, make_grant, orders):
    app = make_app(is_first_party=False, app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    decision = simulate(SimulatedRequest(app, orders.identifier, Flow.CLIENT_CREDENTIALS, scope_given=False))
    assert decision.allowed and decision.scopes == {"read:orders"}
    assert any("the client's own grant" in line for line in decision.trace)


def test_simulated_user_flow_falls_back_to_the_default_grant(make_app, make_grant, orders):
    app = make_app(is_first_party=False)
    make_grant(orders, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["read:orders"], subject_type="user")
    decision = simulate(SimulatedRequest(app, orders.identifier, Flow.AUTHORIZE, frozenset({"read:orders"})))
    assert decision.allowed and decision.scopes == {"read:orders"} and decision.consent_required
    assert any("default grant" in line for line in decision.trace)


def test_simulated_unknown_api(make_app):
    decision = simulate(SimulatedRequest(make_app(), "https://nowhere.example.com/", Flow.AUTHORIZE))
    assert decision.description == "Service not found: https://nowhere.example.com/"


def test_simulation_reads_in_three_statements(make_app, make_grant, orders, django_assert_max_num_queries):
    app = make_app(is_first_party=False)
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    with django_assert_max_num_queries(3):
        simulate(SimulatedRequest(app, orders.identifier, Flow.AUTHORIZE, frozenset({"read:orders"})))


def test_access_matrix_shows_what_each_app_gets(make_app, make_grant, orders):
    strict = make_app(name="Strict", is_first_party=False)
    first = make_app(name="First")
    make_grant(orders, client=strict, scope=["write:orders"], subject_type=SubjectType.USER)
    apps, apis, cells = access_matrix()
    assert {a.name for a in apps} == {"Strict", "First"}
    assert apis[0].is_system  # the Management API comes first
    strict_orders = cells[(strict.pk, orders.pk)]
    assert strict_orders.user.allowed and strict_orders.user.scopes == {"write:orders"}
    assert strict_orders.client.denied and strict_orders.client.reason == "grant_type_not_allowed"
    first_orders = cells[(first.pk, orders.pk)]
    assert first_orders.user.denied and first_orders.user.reason == "client_grant_missing"
    management = cells[(strict.pk, apis[0].pk)]
    assert management.user.reason == "system_api_third_party"


def test_access_matrix_statements_do_not_grow_with_the_tenant(
    make_app, make_api, make_grant, django_assert_max_num_queries
):
    for n in range(6):
        app = make_app(name=f"app{n}", is_first_party=bool(n % 2))
        make_grant(make_api(), client=app, scope=["read:things"])
    with django_assert_max_num_queries(4):
        _, _, cells = access_matrix()
    assert len(cells) == 6 * 10  # six apps, by their six APIs and the four system APIs
