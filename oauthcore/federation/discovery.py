"""Which enterprise connections an app's users may sign in through, and which one an email's
domain belongs to (home-realm discovery).

Third-party apps use only domain-level connections; first-party apps use the connections enabled
for them (the same rule the access decision applies once the user is known, rule 6).
"""

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse
from django.utils.http import urlencode

from oauthcore.constants import ENTERPRISE_STRATEGIES
from oauthcore.decision_inputs import client_facts, connection_facts, find_organization
from oauthcore.models import Application, Connection, ConnectionDomain, Organization
from oauthcore.policy import connection_refusal


def application_of_next(next_url: str) -> Application | None:
    """The app an ``/authorize`` request waiting behind the login page is for, if that is what it is."""
    parts = urlsplit(next_url or "")
    if parts.path != reverse("authorize"):
        return None
    client_id = (parse_qs(parts.query).get("client_id") or [""])[0]
    return Application.objects.filter(client_id=client_id).first() if client_id else None


def organization_of_next(next_url: str) -> Organization | None:
    """The organization an ``/authorize`` request waiting behind the login page names, if any."""
    parts = urlsplit(next_url or "")
    if parts.path != reverse("authorize"):
        return None
    return find_organization((parse_qs(parts.query).get("organization") or [""])[0])


def connection_open_to(connection: Connection, application: Application | None) -> bool:
    """Whether ``application``'s users may sign in through ``connection``: rule 6 of the decision
    (``policy.connection_refusal``), and never through a disabled connection. No app: a sign-in to
    Portcullis itself, such as the account pages, may use any enabled connection."""
    if not connection.is_enabled:
        return False
    if application is None:
        return True
    client = client_facts(application)
    facts = connection_facts(connection, client)
    refusal = connection_refusal(
        client, is_domain=facts["user_connection_is_domain"], enabled=facts["user_connection_enabled"]
    )
    return refusal is None


def enterprise_connections_for(
    application: Application | None, organization: Organization | None = None
) -> list[Connection]:
    """The enterprise connections offered as buttons on the login page for ``application``: rule 6
    as one query (``connection_open_to`` asks it of one connection). Logging in to an
    ``organization``: those enabled for it that it shows as buttons (its choice, not the connection's)."""
    rows = Connection.objects.filter(strategy__in=ENTERPRISE_STRATEGIES, is_enabled=True)
    if organization is None:
        rows = rows.filter(show_as_button=True)
    else:
        rows = rows.filter(organization_links__organization=organization, organization_links__show_as_button=True)
    if application is None:
        return list(rows)
    if not application.is_first_party:
        return list(rows.filter(is_domain_connection=True))
    return list(rows.filter(enabled_clients=application))


def connection_for_email(identifier: str, application: Application | None) -> Connection | None:
    """The enterprise connection that serves ``identifier``'s email domain and is open to the app."""
    _local, at, domain = (identifier or "").strip().rpartition("@")
    if not at or not domain:
        return None
    row = ConnectionDomain.objects.select_related("connection").filter(domain=domain.lower()).first()
    if row is None or not connection_open_to(row.connection, application):
        return None
    return row.connection


def start_url(connection: Connection, next_url: str) -> str:
    return f"{reverse('federation-start', args=[connection.name])}?{urlencode({'next': next_url})}"
