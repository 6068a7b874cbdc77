"""Everything the server logs while it handles secrets (at DEBUG, failures included) goes through
the configured handler; none of the secrets, tokens, codes or passwords may appear in it."""

import base64
import hashlib
import io
import json
import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from oauthcore.audit import Actor
from oauthcore.models import Connection, OutboundEmail
from oauthcore.services.connections import connection_set_domain_level
from portal.partners.models import PartnerMembership, Role
from portal.partners.services.invitations import invitation_create
from portal.partners.services.signup import partner_sign_up
from tests.portal.conftest import link_in, path_of

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "hunter2-but-longer-and-wrong"
CALLBACK = "https://partner.example.com/callback"
VERIFIER = "verifier-" + "k" * 50


@pytest.fixture
def server_log():
    """The configured console handler (with its filters), writing into a buffer, everything at DEBUG."""
    root = logging.getLogger()
    (console,) = [handler for handler in root.handlers if type(handler) is logging.StreamHandler]
    buffer = io.StringIO()
    previous_stream, previous_level = console.setStream(buffer), root.level
    root.setLevel(logging.DEBUG)
    yield buffer
    root.setLevel(previous_level)
    console.setStream(previous_stream)


def test_no_secret_is_ever_logged(server_log, actor, oauth_tenant, django_user_model):
    secrets = []
    web = Client()

    # -- the tenant ------------------------------------------------------------------------------
    api, api_app, m2m, partner = oauth_tenant.api, oauth_tenant.api_client, oauth_tenant.m2m, oauth_tenant.web
    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    django_user_model.objects.create_user(username="alice", password=PASSWORD)
    secrets += [api_app.client_secret, m2m.client_secret, partner.client_secret, PASSWORD, WRONG_PASSWORD, VERIFIER]

    # -- client credentials, right and wrong, as a form, JSON and Basic ---------------------------
    def token(data, **extra):
        return web.post("/oauth/token", data, **extra)

    issued = token(
        {
            "grant_type": "client_credentials",
            "client_id": m2m.application.client_id,
            "client_secret": m2m.client_secret,
            "audience": api.identifier,
        }
    )
    assert issued.status_code == 200
    access_token = issued.json()["access_token"]
    secrets.append(access_token)
    wrong = m2m.client_secret[::-1]
    secrets.append(wrong)
    assert (
        token(
            {"grant_type": "client_credentials", "client_id": m2m.application.client_id, "client_secret": wrong}
        ).status_code
        == 401
    )
    basic = base64.b64encode(f"{m2m.application.client_id}:{wrong}".encode()).decode()
    assert token({"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 401
    as_json = web.post(
        "/oauth/token",
        json.dumps(
            {"grant_type": "client_credentials", "client_id": m2m.application.client_id, "client_secret": wrong}
        ),
        content_type="application/json",
    )
    assert as_json.status_code == 401

    # -- sign-in, wrong then right ----------------------------------------------------------------
    assert web.post("/login", {"username": "alice", "password": WRONG_PASSWORD}).status_code == 200
    assert web.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302

    # -- authorization code with PKCE, refresh, a replayed code --------------------------------------
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": partner.application.client_id,
            "redirect_uri": CALLBACK,
            "scope": "read:things offline_access",
            "audience": api.identifier,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    assert web.get(f"/authorize?{query}").status_code == 200  # the consent page
    answer = web.post(f"/authorize?{query}", {"decision": "accept", "scope": ["read:things", "offline_access"]})
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    secrets.append(code)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
        "client_id": partner.application.client_id,
        "client_secret": partner.client_secret,
    }
    tokens = token(exchange).json()
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    refreshed = token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": partner.application.client_id,
            "client_secret": partner.client_secret,
        }
    ).json()
    secrets.append(refreshed["access_token"])
    assert token(exchange).status_code == 400  # the replay

    # -- introspection and revocation, right and wrong ----------------------------------------------
    for secret in (api_app.client_secret, "not-the-secret-at-all"):
        web.post(
            "/oauth/introspect",
            {"token": tokens["access_token"], "client_id": api_app.application.client_id, "client_secret": secret},
        )
    web.post(
        "/oauth/revoke",
        {
            "token": tokens["refresh_token"],
            "client_id": partner.application.client_id,
            "client_secret": partner.client_secret,
        },
    )
    web.get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}")

    # -- the management API: secrets in answers, bad tokens --------------------------------------------
    out = io.StringIO()
    call_command("create_management_client", "--name", "Automation", stdout=out)
    automation = json.loads(out.getvalue())
    secrets.append(automation["client_secret"])
    management_token = token(
        {
            "grant_type": "client_credentials",
            "client_id": automation["client_id"],
            "client_secret": automation["client_secret"],
            "audience": automation["audience"],
        }
    ).json()["access_token"]
    secrets.append(management_token)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {management_token}"}
    created = web.post(
        "/api/v2/clients", {"name": "Made by API", "app_type": "regular_web"}, "application/json", **bearer
    )
    assert created.status_code == 201
    secrets.append(created.json()["client_secret"])
    rotated = web.post(f"/api/v2/clients/{created.json()['client_id']}/rotate-secret", **bearer)
    secrets.append(rotated.json()["client_secret"])
    assert web.get("/api/v2/clients", HTTP_AUTHORIZATION=f"Bearer {management_token[::-1]}").status_code == 401
    assert web.post("/api/v2/clients", "{broken", "application/json", **bearer).status_code == 400

    logged = server_log.getvalue()
    # It did capture what the server logged, down to oauthlib's debug lines.
    assert "Client authentication failed" in logged and "Bad Request: /oauth/token" in logged
    leaked = [secret for secret in secrets if secret in logged]
    lines = [line for line in logged.splitlines() if any(secret in line for secret in leaked)]
    assert not leaked, f"{len(leaked)} secret(s) in the logs: {lines[:3]}"


def test_emailed_link_tokens_are_not_logged(server_log, fast_password_hashing):
    """Invitation and confirmation links carry their token in the path; a refused form on such a
    page is logged ("Bad Request: /portal/invitations/…"), the token in it is not."""
    partner = partner_sign_up(
        name="Loggers Inc",
        website="https://loggers.example",
        username="owner",
        email="owner@example.com",
        password=PASSWORD,
    )
    owner = PartnerMembership.objects.get(partner=partner, role=Role.OWNER)
    issued = invitation_create(actor=Actor.user(owner.user), by=owner, email="new@example.com", role=Role.DEVELOPER)
    verify_path = path_of(link_in(OutboundEmail.objects.get(kind="partner.verify_email")))
    invitation_path = path_of(link_in(OutboundEmail.objects.get(kind="partner.invitation")))
    verify_token = verify_path.rstrip("/").rsplit("/", 1)[1]
    assert issued.token in invitation_path and len(verify_token) > 16

    web = Client()
    # A sign-up on the invitation page with a too-short password: a 400 page, logged.
    refused = web.post(invitation_path, {"username": "newbie", "password": "x"})
    assert refused.status_code == 400
    # A tampered confirmation link: a 400 page, logged.
    assert web.get(verify_path[:-3] + "abc").status_code == 400

    logged = server_log.getvalue()
    assert "Bad Request: /portal/invitations/" in logged and "Bad Request: /portal/verify-email/" in logged
    assert issued.token not in logged
    assert verify_token[:-3] not in logged
