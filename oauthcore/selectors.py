"""Reads for the access decision: the plain facts ``oauthcore.policy.decide`` works on.

Three statements gather everything one decision needs: the API with its scopes (two, through
prefetching) and every grant that could apply (one); the token endpoint keeps what they read per
process (``oauthcore.policy_cache``), the admin's simulator always reads afresh. The access matrix
reads the whole tenant in four statements, whatever its size, and decides in memory.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, Q

from oauthcore.constants import SELF_REGISTERED, DefaultFor
from oauthcore.models import Application, ClientGrant, ResourceServer, ResourceServerScope, TenantSettings
from oauthcore.policy import (
    ApiFacts,
    AudienceSource,
    ClientFacts,
    Decision,
    Flow,
    GrantFacts,
    RequestFacts,
    decide,
)


def client_facts(application: Application) -> ClientFacts:
    return ClientFacts(
        client_id=application.client_id,
        is_first_party=application.is_first_party,
        security_mode=application.third_party_security_mode,
        app_type=application.app_type,
        grant_types=frozenset(application.grant_types),
        is_confidential=application.is_confidential,
        dynamically_registered=application.created_via in SELF_REGISTERED,
    )


def api_facts(resource_server: ResourceServer) -> ApiFacts:
    """``resource_server.scopes`` should be prefetched."""
    return ApiFacts(
        identifier=resource_server.identifier,
        is_system=resource_server.is_system,
        user_policy=resource_server.user_policy,
        client_policy=resource_server.client_policy,
        scopes=frozenset(scope.value for scope in resource_server.scopes.all()),
        allow_offline_access=resource_server.allow_offline_access,
        skip_consent_for_verifiable_first_party_clients=(
            resource_server.skip_consent_for_verifiable_first_party_clients
        ),
    )


def grant_facts(grant: ClientGrant | None) -> GrantFacts | None:
    if grant is None:
        return None
    return GrantFacts(
        id=grant.id,
        scope=frozenset(grant.scope),
        allow_all_scopes=grant.allow_all_scopes,
        is_default=grant.default_for is not None,
    )


def resource_server_with_scopes(identifier: str) -> ResourceServer | None:
    scopes = Prefetch("scopes", queryset=ResourceServerScope.objects.only("resource_server_id", "value"))
    return ResourceServer.objects.prefetch_related(scopes).filter(identifier=identifier).first()


def applicable_grants(
    *, application: Application | int, audience: str, subject_type: str
) -> tuple[GrantFacts | None, GrantFacts | None]:
    """The client's own grant and the third-party default for (audience, subject type)."""
    application_pk = application if isinstance(application, int) else application.pk
    own = default = None
    candidates = ClientGrant.objects.filter(
        Q(client_id=application_pk) | Q(default_for=DefaultFor.THIRD_PARTY_CLIENTS),
        resource_server_id=audience,
        subject_type=subject_type,
    )
    for grant in candidates:
        if grant.client_id == application_pk:
            own = grant
        else:
            default = grant
    return grant_facts(own), grant_facts(default)


def decide_stored(*, application: Application, audience: str | None, scopes, flow: Flow, user) -> Decision:
    """Decide again for a request stored earlier (a device authorization), now that its user is known."""
    resource_server = resource_server_with_scopes(audience) if audience else None
    own = default = None
    if resource_server is not None:
        own, default = applicable_grants(application=application, audience=audience, subject_type=flow.subject_type)
    facts = RequestFacts(
        requested_scopes=frozenset(scopes),
        scope_given=True,
        audience=audience or None,
        own_grant=own,
        default_grant=default,
        user_connection_is_domain=user.connection.is_domain_connection,
    )
    api = api_facts(resource_server) if resource_server is not None else None
    return decide(client_facts(application), api, facts, flow)


@dataclass(frozen=True)
class TargetFacts:
    """An API as the decision sees it, and the grants that could let one client in."""

    api: ApiFacts
    token_lifetime: int
    own_grant: GrantFacts | None
    default_grant: GrantFacts | None


def target_facts(*, application_pk: int, audience: str, subject_type: str) -> TargetFacts | None:
    """Everything one decision reads about the API ``audience`` (None: no such API), in three statements."""
    if len(audience) > ResourceServer._meta.get_field("identifier").max_length:
        return None  # no API has such an identifier: not worth a statement (nor a cache entry's memory)
    resource_server = resource_server_with_scopes(audience)
    if resource_server is None:
        return None
    own, default = applicable_grants(application=application_pk, audience=audience, subject_type=subject_type)
    return TargetFacts(api_facts(resource_server), resource_server.token_lifetime, own, default)


def default_audience() -> str:
    """The API a request that names none is for ("" for none)."""
    return TenantSettings.load().default_audience


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


def simulate(request: SimulatedRequest) -> Decision:
    """Decide as the token endpoint would, for a well-formed request (PKCE S256, a verifiable callback)."""
    resource_server = resource_server_with_scopes(request.audience) if request.audience else None
    own = default = None
    if resource_server is not None:
        own, default = applicable_grants(
            application=request.application, audience=resource_server.identifier, subject_type=request.flow.subject_type
        )
    callbacks = request.application.callbacks
    facts = RequestFacts(
        requested_scopes=request.scopes,
        scope_given=request.scope_given,
        audience=request.audience,
        audience_source=request.audience_source if request.audience else None,
        own_grant=own,
        default_grant=default,
        code_challenge_method="S256",
        redirect_uri=callbacks[0] if callbacks else None,
        original_scopes=request.original_scopes if request.original_scopes is not None else request.scopes,
    )
    api = api_facts(resource_server) if resource_server is not None else None
    return decide(client_facts(request.application), api, facts, request.flow)


@dataclass(frozen=True)
class MatrixCell:
    user: Decision
    client: Decision


def access_matrix(applications=None) -> tuple[list[Application], list[ResourceServer], dict]:
    """For every app and API: what user-delegated access and client access would each get today.

    The user-delegated cell asks for every scope of the API; the client cell asks for none (the
    whole ceiling). Returns (apps, apis, {(app.pk, api.pk): MatrixCell}).
    """
    apps = list(applications if applications is not None else Application.objects.order_by("name", "pk"))
    scopes = Prefetch("scopes", queryset=ResourceServerScope.objects.only("resource_server_id", "value"))
    apis = list(ResourceServer.objects.prefetch_related(scopes).order_by("-is_system", "name"))
    own: dict[tuple[int, str, str], GrantFacts] = {}
    defaults: dict[tuple[str, str], GrantFacts] = {}
    for grant in ClientGrant.objects.filter(Q(client__in=[a.pk for a in apps]) | Q(default_for__isnull=False)):
        if grant.client_id is None:
            defaults[(grant.resource_server_id, grant.subject_type)] = grant_facts(grant)
        else:
            own[(grant.client_id, grant.resource_server_id, grant.subject_type)] = grant_facts(grant)
    cells = {}
    for app in apps:
        client = client_facts(app)
        for api in apis:
            facts = api_facts(api)

            def cell(flow: Flow, *, app=app, api=api, facts=facts, client=client):
                subject = flow.subject_type
                return standard_decision(
                    client,
                    facts,
                    flow,
                    own_grant=own.get((app.pk, api.identifier, subject)),
                    default_grant=defaults.get((api.identifier, subject)),
                )

            cells[(app.pk, api.pk)] = MatrixCell(user=cell(Flow.AUTHORIZE), client=cell(Flow.CLIENT_CREDENTIALS))
    return apps, apis, cells


def standard_decision(
    client: ClientFacts, api: ApiFacts, flow: Flow, *, own_grant: GrantFacts | None, default_grant: GrantFacts | None
) -> Decision:
    """What an app gets from an API, as the access matrix and the partner portal's catalog show it.

    A well-formed request (PKCE S256, a verifiable callback): user-delegated access (``Flow.AUTHORIZE``)
    asks for every scope of the API, client access asks for none (the whole ceiling).
    """
    scopes = api.scopes if flow.subject_type == "user" else frozenset()
    request = RequestFacts(
        requested_scopes=scopes,
        scope_given=bool(scopes),
        audience=api.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=own_grant,
        default_grant=default_grant,
        code_challenge_method="S256",
        redirect_uri="https://verifiable.invalid/callback",
    )
    return decide(client, api, request, flow)
