"""Shared set-up for the abuse tests: an API whose own client may introspect, and a partner app
that gets an authorization code through a real login and consent."""

from dataclasses import dataclass

import requests

from oauthcore.constants import AppType, GrantType, SubjectType, UserPolicy
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import Browser, oauth_client

CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "v" * 64


@dataclass
class Api:
    resource_server: object
    client_id: str
    secret: str

    @property
    def identifier(self) -> str:
        return self.resource_server.identifier

    def introspect(self, base_url: str, token: str) -> dict:
        response = requests.post(
            f"{base_url}/oauth/introspect", data={"token": token}, auth=(self.client_id, self.secret), timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


def make_orders_api(actor, make_api) -> Api:
    issued = application_create(actor=actor, name="Orders API", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    api = make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:orders", "Read your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
        client=issued.application,
    )
    return Api(api, issued.application.client_id, issued.client_secret)


def make_partner_app(actor, make_grant, api: Api, *, app_type=AppType.REGULAR_WEB, **fields):
    """A strict third-party app with a user-delegated grant on the API: (app, secret or None)."""
    fields.setdefault("callbacks", [CALLBACK])
    issued = application_create(
        actor=actor,
        name=fields.pop("name", "Partner App"),
        app_type=app_type,
        is_first_party=False,
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        **fields,
    )
    make_grant(api.resource_server, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
    public = app_type in (AppType.SPA, AppType.NATIVE)
    return issued.application, None if public else issued.client_secret


def authorization_code(live_server, browser: Browser, client, api: Api, *, username="alice", **params):
    """Log in (when needed), consent (when asked) and return the callback URL with the code."""
    url, _state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=api.identifier, **params
    )
    outcome = browser.authorize(url, username=username)
    if outcome.kind == "consent":
        outcome = browser.answer_consent(outcome, accept=True)
    assert outcome.kind == "redirect", outcome.page_text
    return outcome.location


def code_client(app, secret, scope="read:orders offline_access"):
    return oauth_client(app, secret, CALLBACK, scope)
