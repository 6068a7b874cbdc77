"""Replays over HTTP: an authorization code used twice, a rotated refresh token used again."""

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError

from oauthcore.constants import AppType
from oauthcore.models import AccessToken, AuditEvent, RefreshToken
from oauthcore.validator import PolicyValidator, code_family
from tests.e2e.abuse_helpers import (
    VERIFIER,
    authorization_code,
    code_client,
    make_orders_api,
    make_partner_app,
)
from tests.e2e.oauth_helpers import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def orders(actor, make_api):
    return make_orders_api(actor, make_api)


def token_url(live_server):
    return f"{live_server.url}/oauth/token"


def test_a_replayed_code_is_refused_and_revokes_what_it_was_exchanged_for(
    live_server, actor, make_grant, orders, alice
):
    app, secret = make_partner_app(actor, make_grant, orders)
    client = code_client(app, secret)
    callback = authorization_code(live_server, Browser(live_server.url), client, orders)
    token = client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    assert orders.introspect(live_server.url, token["access_token"])["active"] is True

    with pytest.raises(OAuthError) as replay:
        client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    assert replay.value.error == "invalid_grant"

    assert orders.introspect(live_server.url, token["access_token"]) == {"active": False}
    with pytest.raises(OAuthError) as refresh:
        client.refresh_token(token_url(live_server), refresh_token=token["refresh_token"])
    assert refresh.value.error == "invalid_grant"
    event = AuditEvent.objects.get(action="authorization_code.replay")
    assert event.actor_id == app.client_id and event.target_id == str(app.pk)
    assert event.data["access_tokens"] == 1 and event.data["refresh_tokens"] == 1


def test_a_replay_after_rotations_revokes_the_whole_family(live_server, actor, make_grant, orders, alice):
    app, _ = make_partner_app(actor, make_grant, orders, app_type=AppType.SPA, name="Partner SPA")
    client = code_client(app, None)
    callback = authorization_code(live_server, Browser(live_server.url), client, orders)
    first = client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    second = client.refresh_token(token_url(live_server), refresh_token=first["refresh_token"])
    third = client.refresh_token(token_url(live_server), refresh_token=second["refresh_token"])
    assert orders.introspect(live_server.url, third["access_token"])["active"] is True

    with pytest.raises(OAuthError):
        client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    assert orders.introspect(live_server.url, third["access_token"]) == {"active": False}
    with pytest.raises(OAuthError):
        client.refresh_token(token_url(live_server), refresh_token=third["refresh_token"])
    assert not RefreshToken.objects.filter(application=app, revoked__isnull=True).exists()
    assert not AccessToken.objects.filter(application=app).exists()


def test_another_codes_tokens_are_left_alone(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders)
    client = code_client(app, secret)
    browser = Browser(live_server.url)
    first_callback = authorization_code(live_server, browser, client, orders)
    client.fetch_token(token_url(live_server), authorization_response=first_callback, code_verifier=VERIFIER)
    second = client.fetch_token(
        token_url(live_server),
        authorization_response=authorization_code(live_server, browser, client, orders),
        code_verifier=VERIFIER,
    )
    with pytest.raises(OAuthError):
        client.fetch_token(token_url(live_server), authorization_response=first_callback, code_verifier=VERIFIER)
    assert orders.introspect(live_server.url, second["access_token"])["active"] is True


def test_a_code_exchanged_twice_at_once_revokes_both_results(actor, make_grant, orders, alice):
    """Two exchanges that both got past validation: the second, finding the code used up when it
    saves its tokens, rolls them back and revokes the family, which holds the first's."""
    from oauthlib.common import Request
    from oauthlib.oauth2.rfc6749 import errors

    app, _secret = make_partner_app(actor, make_grant, orders)
    code = "the-raced-code"
    family = code_family(code)
    winner = AccessToken.objects.create(
        application=app, user=alice, token_checksum="a" * 64, expires="2100-01-01T00:00Z", token_family=family
    )
    RefreshToken.objects.create(
        application=app, user=alice, token_checksum="b" * 64, access_token=winner, token_family=family
    )
    request = Request("https://server.example/oauth/token")
    request.client, request.user, request.grant_type, request.code = app, alice, "authorization_code", code
    request.resource = [orders.identifier]
    loser = {"access_token": "second-exchange", "scope": "read:orders", "expires_in": 60, "token_type": "Bearer"}
    with pytest.raises(errors.InvalidGrantError):
        PolicyValidator().save_bearer_token(loser, request)
    assert not AccessToken.objects.filter(application=app).exists()  # the second's rolled back, the first's revoked
    assert not RefreshToken.objects.filter(token_family=family, revoked__isnull=True).exists()


def test_refresh_token_reuse_revokes_the_family_and_is_audited(live_server, actor, make_grant, orders, alice):
    app, _ = make_partner_app(
        actor,
        make_grant,
        orders,
        app_type=AppType.NATIVE,
        name="Partner CLI",
        callbacks=["http://127.0.0.1:9999/callback"],
    )
    client = code_client(app, None)
    callback = authorization_code(live_server, Browser(live_server.url), client, orders)
    first = client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    second = client.refresh_token(token_url(live_server), refresh_token=first["refresh_token"])
    third = client.refresh_token(token_url(live_server), refresh_token=second["refresh_token"])

    stolen = requests.post(
        token_url(live_server),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app.client_id},
        timeout=10,
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert orders.introspect(live_server.url, third["access_token"]) == {"active": False}
    with pytest.raises(OAuthError):
        client.refresh_token(token_url(live_server), refresh_token=third["refresh_token"])
    # Both the stolen token and the (now revoked) newest one were presented again.
    events = list(AuditEvent.objects.filter(action="refresh_token.reuse").order_by("sequence"))
    assert len(events) == 2 and {event.actor_id for event in events} == {app.client_id}


def test_a_revocation_by_the_client_is_audited_once(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders)
    client = code_client(app, secret)
    callback = authorization_code(live_server, Browser(live_server.url), client, orders)
    token = client.fetch_token(token_url(live_server), authorization_response=callback, code_verifier=VERIFIER)
    for _ in range(2):  # the second time there is nothing left to revoke: 200 all the same, no entry
        response = requests.post(
            f"{live_server.url}/oauth/revoke",
            data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(app.client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200
    (event,) = AuditEvent.objects.filter(action="token.revoke", actor_id=app.client_id)
    assert event.data == {"token_type_hint": "refresh_token"}
    assert orders.introspect(live_server.url, token["access_token"]) == {"active": False}
