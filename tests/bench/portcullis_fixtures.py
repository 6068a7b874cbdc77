"""The benchmark tenant in a Portcullis database: what every scenario of ``make bench`` calls.

Run from the project folder with Portcullis' environment (DATABASE_URL, SECRET_KEY, ...):

    python tests/bench/portcullis_fixtures.py tenant            # prints the tenant as JSON
    python tests/bench/portcullis_fixtures.py codes FILE COUNT TEMPLATE   # codes like TEMPLATE, one a line

Everything is made through the project's services and endpoints (the token to introspect comes
from the token endpoint, the first code from ``/authorize``); only the pool of codes the exchange
scenario consumes is cloned from that first code in bulk, since one ``/authorize`` per code would
take longer than the benchmark itself.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from consent.services import user_grant_record  # noqa: E402
from oauthcore.audit import Actor  # noqa: E402
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, SubjectType  # noqa: E402
from oauthcore.models import Application, Connection, Grant, ResourceServer  # noqa: E402
from oauthcore.services.applications import application_create, application_rotate_secret  # noqa: E402
from oauthcore.services.client_grants import client_grant_create  # noqa: E402
from oauthcore.services.connections import connection_set_domain_level  # noqa: E402
from oauthcore.services.resource_servers import resource_server_create, resource_server_update  # noqa: E402
from tests.bench.shared_fixtures import CALLBACK, authorized_browser, clone_codes, issued_token, run  # noqa: E402

ACTOR = Actor.system("benchmark")
API = "https://api.bench.portcullis.test/orders/"
SCOPES = (("read:orders", "Read orders"), ("write:orders", "Create and change orders"))
USERNAME = "bench-user"


def _app(name: str, **fields) -> tuple[Application, str]:
    """The app called ``name``, with a fresh secret (secrets are stored hashed: rotate to know one)."""
    existing = Application.objects.filter(name=name).first()
    if existing is None:
        issued = application_create(actor=ACTOR, name=name, **fields)
        return issued.application, issued.client_secret
    return existing, application_rotate_secret(actor=ACTOR, application=existing)


def tenant() -> dict:
    api = ResourceServer.objects.filter(identifier=API).first() or resource_server_create(
        actor=ACTOR, identifier=API, name="Orders API (benchmark)", scopes=SCOPES
    )
    introspector, introspector_secret = _app("Orders API backend", app_type=AppType.NON_INTERACTIVE)
    if api.client_id != introspector.pk:
        resource_server_update(actor=ACTOR, resource_server=api, client=introspector)
    strict_m2m, strict_m2m_secret = _app(
        "Partner sync service",
        app_type=AppType.NON_INTERACTIVE,
        is_first_party=False,
        third_party_security_mode="strict",
    )
    first_m2m, first_m2m_secret = _app("Fulfilment service", app_type=AppType.NON_INTERACTIVE)
    web, web_secret = _app(
        "Partner web app",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        third_party_security_mode="strict",
        callbacks=[CALLBACK],
    )
    for app, subject_type in ((strict_m2m, SubjectType.CLIENT), (first_m2m, SubjectType.CLIENT), (web, "user")):
        if not app.client_grants.filter(resource_server=api, subject_type=subject_type).exists():
            client_grant_create(actor=ACTOR, audience=API, client=app, subject_type=subject_type, scope=["read:orders"])
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    if not connection.is_domain_connection:  # third-party apps sign users in through domain-level ones
        connection_set_domain_level(actor=ACTOR, connection=connection, is_domain_connection=True)
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = get_user_model().objects.create_user(
            username=USERNAME, email="bench@example.com", password=None, connection=connection
        )
    user_grant_record(user=user, client=web, audience=API, scopes=["read:orders"])

    browser = authorized_browser(user, "/authorize", web.client_id, audience=API, scope="read:orders")
    data = {"grant_type": "client_credentials", "client_id": strict_m2m.client_id, "client_secret": strict_m2m_secret}
    return {
        **browser,
        "api": API,
        "strict_m2m": {"client_id": strict_m2m.client_id, "client_secret": strict_m2m_secret},
        "first_party_m2m": {"client_id": first_m2m.client_id, "client_secret": first_m2m_secret},
        "introspector": {"client_id": introspector.client_id, "client_secret": introspector_secret},
        "web": {"client_id": web.client_id, "client_secret": web_secret},
        "access_token": issued_token("/oauth/token", {**data, "audience": API}),
    }


def codes(path: str, count: int, template_code: str) -> None:
    fields = ("application_id", "user_id", "redirect_uri", "scope", "code_challenge", "code_challenge_method")
    clone_codes(Grant, template_code, count, path, (*fields, "nonce", "claims", "resource", "audience"))


if __name__ == "__main__":
    run(__doc__, tenant, codes)
