"""Decisions over rows read afresh: the device flow's second look, the simulator, the access matrix.

Each reads what it needs and hands it to ``oauthcore.decision_inputs``, which builds the facts
``oauthcore.policy.decide`` works on. The token endpoint reads the same facts through its per-process
cache (``oauthcore.policy_cache``); the pages here always read afresh. The access matrix reads the
whole tenant in four statements, whatever its size, and decides in memory.
"""

from dataclasses import dataclass, replace

from django.db.models import Q

from oauthcore.constants import SELF_REGISTERED, SubjectType
from oauthcore.decision_inputs import (
    Target,
    apis_with_scopes,
    authorized_grant_ids,
    client_facts,
    connection_facts,
    connection_member_facts,
    grant_association_facts,
    grant_organization_facts,
    organization_facts,
    read_target,
    stored_grant_inputs,
    target,
    well_formed_inputs,
)
from oauthcore.models import Application, ClientGrant, Connection, Organization, ResourceServer
from oauthcore.policy import AudienceSource, ClientFacts, Decision, Flow, OrganizationFacts


def app_is_unverified(application: Application) -> bool:
    """An app that registered itself (dynamic registration or a client ID metadata document) and that no
    partner owns: nobody vouches for the name and logo it chose, so the pages that show it to a user say so."""
    return application.created_via in SELF_REGISTERED and getattr(application, "partner_link", None) is None


def decide_stored(*, application: Application, audience: str | None, scopes, flow: Flow, user) -> Decision:
    """Decide again for a request stored earlier (a device authorization), now that its user is known."""
    found = read_target(application_pk=application.pk, audience=audience, subject_type=flow.subject_type)
    return stored_grant_inputs(client_facts(application), found, scopes=scopes, user=user).decide(flow)


@dataclass(frozen=True)
class SimulatedRequest:
    """What the admin access simulator (and the audit log) asks: could this app get this?"""

    application: Application
    audience: str | None
    flow: Flow
    scopes: frozenset[str] = frozenset()
    scope_given: bool = True
    audience_source: AudienceSource = AudienceSource.AUDIENCE
    original_scopes: frozenset[str] | None = None  # refresh: what the refresh token carries
    connection: Connection | None = None  # the connection a user signed in through (user flows only)
    organization: Organization | None = None  # the organization the request names (by its id)
    user_is_member: bool = True  # with a connection: whether its user is a member of the organization


def simulated_organization(request: SimulatedRequest, found: Target) -> OrganizationFacts | None:
    """The organization of a simulated request as the decision sees it: for client credentials, with
    whether it authorized the grant that applies; in a user flow with a connection, with whether that
    connection is enabled for it and the user a member."""
    organization = request.organization
    if organization is None:
        return None
    if request.flow.subject_type == SubjectType.CLIENT:
        return grant_organization_facts(organization, found.own_grant or found.default_grant)
    facts = organization_facts(organization)
    if request.connection is None:
        return facts
    return connection_member_facts(facts, connection_id=request.connection.pk, is_member=request.user_is_member)


def simulate(request: SimulatedRequest) -> Decision:
    """Decide as the token endpoint would, for a well-formed request (PKCE S256, the app's first callback)."""
    application = request.application
    found = read_target(
        application_pk=application.pk, audience=request.audience, subject_type=request.flow.subject_type
    )
    callbacks = application.callbacks
    inputs = well_formed_inputs(
        client_facts(application),
        found,
        scopes=request.scopes,
        scope_given=request.scope_given,
        source=request.audience_source if request.audience else None,
        redirect_uri=callbacks[0] if callbacks else None,
        original_scopes=request.original_scopes if request.original_scopes is not None else request.scopes,
        organization=simulated_organization(request, found),
    )
    if request.connection is not None and request.flow.subject_type == SubjectType.USER:
        facts = connection_facts(request.connection, inputs.client)
        inputs = replace(inputs, request=replace(inputs.request, **facts))
    return inputs.decide(request.flow)


@dataclass(frozen=True)
class MatrixCell:
    user: Decision
    client: Decision


def access_matrix(
    applications=None, organization: Organization | None = None
) -> tuple[list[Application], list[ResourceServer], dict]:
    """For every app and API: what user-delegated access and client access would each get today, for
    requests that name ``organization`` if given (its user not known yet: before the sign-in).

    The user-delegated cell asks for every scope of the API; the client cell asks for none (the
    whole ceiling). Returns (apps, apis, {(app.pk, api.pk): MatrixCell}). Two more statements with
    an organization (the grants it authorized), whatever the tenant's size.
    """
    apps = list(applications if applications is not None else Application.objects.order_by("name", "pk"))
    apis = list(apis_with_scopes().order_by("-is_system", "name"))
    own: dict[tuple[int, str, str], ClientGrant] = {}
    defaults: dict[tuple[str, str], ClientGrant] = {}
    for grant in ClientGrant.objects.filter(Q(client__in=[a.pk for a in apps]) | Q(default_for__isnull=False)):
        if grant.client_id is None:
            defaults[(grant.resource_server_id, grant.subject_type)] = grant
        else:
            own[(grant.client_id, grant.resource_server_id, grant.subject_type)] = grant
    named = organization_facts(organization)
    authorized = authorized_grant_ids(organization) if organization is not None else frozenset()
    cells = {}
    for app in apps:
        client = client_facts(app)
        for api in apis:

            def cell(flow: Flow, *, app=app, api=api, client=client):
                subject = flow.subject_type
                found = target(
                    api,
                    own_grant=own.get((app.pk, api.identifier, subject)),
                    default_grant=defaults.get((api.identifier, subject)),
                )
                facts = named
                if subject == SubjectType.CLIENT:
                    facts = grant_association_facts(named, found.own_grant or found.default_grant, authorized)
                return standard_decision(client, found, flow, organization=facts)

            cells[(app.pk, api.pk)] = MatrixCell(user=cell(Flow.AUTHORIZE), client=cell(Flow.CLIENT_CREDENTIALS))
    return apps, apis, cells


def standard_decision(
    client: ClientFacts, found: Target, flow: Flow, *, organization: OrganizationFacts | None = None
) -> Decision:
    """What an app gets from an API, as the access matrix and the partner portal's catalog show it.

    A well-formed request (PKCE S256, a verifiable callback): user-delegated access (``Flow.AUTHORIZE``)
    asks for every scope of the API, client access asks for none (the whole ceiling); with
    ``organization``, the request names it.
    """
    scopes = found.api.scopes if flow.subject_type == "user" else frozenset()
    inputs = well_formed_inputs(client, found, scopes=scopes, scope_given=bool(scopes), organization=organization)
    return inputs.decide(flow)
