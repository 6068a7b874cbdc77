"""The access decision's inputs, built in one place: rows in, the arguments of ``policy.decide`` out.

``policy.decide`` works on plain facts about the client, the API and the request. Every caller
builds them here: the token endpoint's validator, ``/authorize`` once its user is known, the device
flow, the admin's simulator and access matrix, the partner portal's catalog and organizations
page. So a fact is read the same way wherever access is decided or shown, and a new fact reaches
all of them at once.

The parts:

- ``client_facts``, ``api_facts``, ``grant_facts``: one row each, as the decision sees it;
- ``Target``: the API a request names and the grants that could let one client in, read in three
  statements by ``read_target`` (the token endpoint keeps it per process: ``oauthcore.policy_cache``),
  or made by ``target`` from rows a page has read in bulk;
- ``DecisionInputs``: the three arguments together, made by ``request_inputs`` for a request as it
  came, ``refresh_inputs`` for a refresh (held to the user's stored consent), ``stored_grant_inputs``
  for a grant redeemed later, ``well_formed_inputs`` for the question
  the admin pages and the catalog ask (what would a well-behaved client get?).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, replace

from django.db.models import Exists, Prefetch, Q, QuerySet, Subquery

from oauthcore.constants import SELF_REGISTERED, DefaultFor
from oauthcore.models import (
    Application,
    ClientGrant,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
    ResourceServer,
    ResourceServerScope,
    TenantSettings,
)
from oauthcore.policy import (
    ApiFacts,
    AudienceSource,
    ClientFacts,
    Decision,
    Flow,
    GrantFacts,
    OrganizationFacts,
    RequestFacts,
    decide,
)

# The redirect URI of a well-formed request: verifiable (not loopback), so consent may be skipped
# where the API allows it, as for a first-party app on its real domain.
VERIFIABLE_REDIRECT_URI = "https://verifiable.invalid/callback"


# -- one row each ---------------------------------------------------------------------------------


def client_facts(application: Application) -> ClientFacts:
    """The client as the decision sees it (an unsaved ``Application`` will do: the portal's "a new app")."""
    return ClientFacts(
        client_id=application.client_id,
        is_first_party=application.is_first_party,
        security_mode=application.third_party_security_mode,
        app_type=application.app_type,
        grant_types=frozenset(application.grant_types),
        is_confidential=application.is_confidential,
        dynamically_registered=application.created_via in SELF_REGISTERED,
        suspended=application.suspended,
        organization_usage=application.organization_usage,
        organization_require_behavior=application.organization_require_behavior,
    )


def api_facts(resource_server: ResourceServer) -> ApiFacts:
    """The API as the decision sees it; ``resource_server.scopes`` should be prefetched."""
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
        organization_usage=grant.organization_usage,
        allow_any_organization=grant.allow_any_organization,
    )


# -- the organization a request names -------------------------------------------------------------

ORGANIZATION_ID_PREFIX = "org_"


def find_organization(value: str | None) -> Organization | None:
    """The organization ``value`` names: an ``org_…`` id, or else a name, which is lowercase whatever
    case it is typed in (one indexed statement)."""
    if not value or len(value) > Organization._meta.get_field("name").max_length:
        return None
    if value.startswith(ORGANIZATION_ID_PREFIX):
        return Organization.objects.filter(id=value).first()
    return Organization.objects.filter(name=value.lower()).first()


def names_organization(value: str, organization: Organization) -> bool:
    """Whether ``value`` names ``organization`` as ``find_organization`` reads it: its id, or its name."""
    return value == organization.id or value.lower() == organization.name


def organization_facts(organization: Organization | None, *, user=None) -> OrganizationFacts | None:
    """The organization as the decision sees it; with ``user``, their membership and whether their
    connection is enabled for it (one statement)."""
    if organization is None:
        return None
    facts = OrganizationFacts(
        id=organization.id, name=organization.name, allows_third_party=organization.allows_third_party
    )
    return member_facts(facts, user) if user is not None else facts


def member_facts(facts: OrganizationFacts, user) -> OrganizationFacts:
    """``facts`` with what rule 6 asks of ``user`` there: member, and through an enabled connection
    (one statement: the membership and the connection's link, both by index)."""
    membership = OrganizationMember.objects.filter(organization_id=facts.id, user=user)
    link = OrganizationConnection.objects.filter(organization_id=facts.id, connection_id=user.connection_id)
    is_member, assigns = (
        Organization.objects.filter(id=facts.id)
        .annotate(
            is_member=Exists(membership),
            assigns=Subquery(link.values("assign_membership_on_login")[:1]),
        )
        .values_list("is_member", "assigns")
        .first()
    ) or (False, None)
    return _with_member(facts, is_member=is_member, assigns=assigns)


def connection_member_facts(facts: OrganizationFacts, *, connection_id, is_member: bool) -> OrganizationFacts:
    """``facts`` for a user who signs in through ``connection_id`` and is a member (``is_member``) or
    not: whether that connection is enabled for the organization, and assigns membership (one indexed
    statement). The admin's simulator asks it of a connection and a membership it is given."""
    assigns = (
        OrganizationConnection.objects.filter(organization_id=facts.id, connection_id=connection_id)
        .values_list("assign_membership_on_login", flat=True)
        .first()
    )
    return _with_member(facts, is_member=is_member, assigns=assigns)


def _with_member(facts: OrganizationFacts, *, is_member: bool, assigns: bool | None) -> OrganizationFacts:
    """``facts`` for a user who is a member or not, signing in through a connection whose link to the
    organization assigns membership (``assigns``), or does not, or that has no link (None: the
    connection is not enabled for it)."""
    return replace(
        facts,
        user_is_member=is_member,
        user_connection_enabled=assigns is not None,
        user_connection_assigns_membership=bool(assigns),
    )


def authorized_grant_ids(organization: Organization) -> frozenset[str]:
    """The client grants ``organization`` has authorized (one statement), for a page that decides for
    many grants at once (the access matrix)."""
    links = OrganizationClientGrant.objects.filter(organization_id=organization.id)
    return frozenset(links.values_list("client_grant_id", flat=True))


def grant_association_facts(
    facts: OrganizationFacts | None, grant: GrantFacts | None, authorized: Container[str]
) -> OrganizationFacts | None:
    """The organization of a client-credentials request, with whether it authorized ``grant`` (whose
    id is in ``authorized`` when it did); a grant that allows any organization needs no association."""
    if facts is None or grant is None or grant.allow_any_organization:
        return facts
    return replace(facts, grant_associated=grant.id in authorized)


def grant_organization_facts(organization: Organization | None, grant: GrantFacts | None) -> OrganizationFacts | None:
    """The organization of a client-credentials request, with whether it authorized ``grant`` (one
    indexed statement)."""
    facts = organization_facts(organization)
    if facts is None or grant is None or grant.allow_any_organization:
        return facts
    link = OrganizationClientGrant.objects.filter(organization_id=facts.id, client_grant_id=grant.id)
    return grant_association_facts(facts, grant, {grant.id} if link.exists() else ())


# -- the API a request is for ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The API a request names, as the decision sees it, and the grants that could let one client in."""

    identifier: str | None  # the API asked for (None: the request names none and there is no default)
    api: ApiFacts | None = None  # None: no API asked for, or no API has this identifier
    token_lifetime: int | None = None  # the API's access token lifetime, in seconds
    own_grant: GrantFacts | None = None  # the client's own grant for the request's subject type
    default_grant: GrantFacts | None = None  # the third-party default grant for that subject type


def target(
    resource_server: ResourceServer, *, own_grant: ClientGrant | None, default_grant: ClientGrant | None
) -> Target:
    """A ``Target`` from rows read already (the access matrix and the catalog read in bulk)."""
    return Target(
        identifier=resource_server.identifier,
        api=api_facts(resource_server),
        token_lifetime=resource_server.token_lifetime,
        own_grant=grant_facts(own_grant),
        default_grant=grant_facts(default_grant),
    )


def apis_with_scopes() -> QuerySet[ResourceServer]:
    """Every API, with its scopes prefetched (the values only: what ``api_facts`` reads)."""
    scopes = Prefetch("scopes", queryset=ResourceServerScope.objects.only("resource_server_id", "value"))
    return ResourceServer.objects.prefetch_related(scopes)


def read_target(*, application_pk: int, audience: str | None, subject_type: str) -> Target:
    """The API ``audience`` and the grants for ``application_pk`` and ``subject_type``, in three statements
    (the API, its scopes, every grant that could apply); none when no API could have that identifier."""
    if not audience:
        return Target(None)
    if len(audience) > ResourceServer._meta.get_field("identifier").max_length:
        return Target(audience)  # no API has such an identifier: not worth a statement
    resource_server = apis_with_scopes().filter(identifier=audience).first()
    if resource_server is None:
        return Target(audience)
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
    return target(resource_server, own_grant=own, default_grant=default)


def default_audience() -> str:
    """The API a request that names none is for ("" for none)."""
    return TenantSettings.load().default_audience


# -- the decision's three arguments ---------------------------------------------------------------


@dataclass(frozen=True)
class DecisionInputs:
    """The client, the API and the request, as ``policy.decide`` takes them.

    Kept together so a decision can be made again with more facts: ``/authorize`` decides once
    without the user (in the validator), then again once the user is logged in (``with_user``).
    """

    client: ClientFacts
    api: ApiFacts | None
    request: RequestFacts

    def decide(self, flow: Flow) -> Decision:
        return decide(self.client, self.api, self.request, flow)

    def with_user(self, *, user, consented_scopes: frozenset[str] | None, prompt: frozenset[str]) -> DecisionInputs:
        """The same request once its user is known: their connection (rule 6), their stored consent
        and ``prompt`` (rule 7)."""
        organization = self.request.organization
        request = replace(
            self.request,
            **connection_facts(user.connection, self.client),
            consented_scopes=consented_scopes,
            prompt=prompt,
            organization=member_facts(organization, user) if organization is not None else None,
        )
        return replace(self, request=request)

    def with_organization(self, organization: Organization | None, *, asked: str | None) -> DecisionInputs:
        """The same request for another organization (``/authorize`` once the user picked one)."""
        request = replace(self.request, organization_asked=asked, organization=organization_facts(organization))
        return replace(self, request=request)

    def with_member_through(self, connection) -> DecisionInputs:
        """The same request, for its organization, by a member who signs in through ``connection``,
        one of the connections enabled for the organization: what a page asks to show through which
        of them an app can sign the organization's members in. Rule 6's connection facts are read as
        for a real user (``connection_facts``: no statement for a third-party app)."""
        organization = self.request.organization
        request = replace(
            self.request,
            **connection_facts(connection, self.client),
            organization=replace(organization, user_is_member=True, user_connection_enabled=True),
        )
        return replace(self, request=request)


def connection_facts(connection, client: ClientFacts) -> dict:
    """Rule 6's facts about a user's connection: whether it is domain level, and whether it is
    enabled for this client. Enabled is asked only where rule 6 reads it: of an enterprise connection,
    which a first-party app may use only when enabled for it (the database connection serves every
    first-party app, and a third-party app needs domain level, enabled or not)."""
    enabled = True
    if connection.is_enterprise and client.is_first_party:
        enabled = connection.enabled_clients.filter(client_id=client.client_id).exists()
    return {"user_connection_is_domain": connection.is_domain_connection, "user_connection_enabled": enabled}


def request_inputs(
    client: ClientFacts,
    target: Target,
    *,
    scopes: Iterable[str],
    scope_given: bool,
    source: AudienceSource | None = None,
    parameters: frozenset[str] = frozenset(),
    code_challenge_method: str | None = None,
    redirect_uri: str | None = None,
    original_scopes: frozenset[str] | None = None,
    user=None,
    organization_asked: str | None = None,
    organization: OrganizationFacts | None = None,
) -> DecisionInputs:
    """The inputs for a request for ``target``: what it asked for (``scopes``; ``scope_given``: it
    sent a ``scope`` parameter), how it named the API (``source``), the ``/authorize`` parameters,
    the scopes a refresh token carries (``original_scopes``), once known its ``user``, and the
    organization it names (``organization_asked`` as sent, ``organization`` what it names)."""
    request = RequestFacts(
        requested_scopes=frozenset(scopes),
        scope_given=scope_given,
        audience=target.identifier or None,
        audience_source=source,
        own_grant=target.own_grant,
        default_grant=target.default_grant,
        parameters=parameters,
        code_challenge_method=code_challenge_method,
        redirect_uri=redirect_uri,
        **(connection_facts(user.connection, client) if user is not None else {}),
        original_scopes=original_scopes,
        organization_asked=organization_asked,
        organization=organization,
    )
    return DecisionInputs(client, target.api, request)


def refresh_inputs(
    client: ClientFacts,
    target: Target,
    *,
    scopes: Iterable[str],
    scope_given: bool,
    original_scopes: frozenset[str],
    consented_scopes: frozenset[str] | None,
    organization: Organization | None = None,
    user=None,
    mfa_required: bool = False,
    authenticated_with_mfa: bool = False,
) -> DecisionInputs:
    """A refresh: the scopes its token carries (``original_scopes``) and what its user's stored
    consent holds today (``consented_scopes``, None: none), which rule 7 holds the refresh to.
    A refresh token of an ``organization`` is held to its ``user``'s membership there today.
    Rule 10: whether the tenant requires a second factor, and whether the token's login used one."""
    inputs = request_inputs(
        client,
        target,
        scopes=scopes,
        scope_given=scope_given,
        original_scopes=original_scopes,
        user=user if organization is not None else None,
        organization_asked=organization.id if organization is not None else None,
        organization=organization_facts(organization, user=user) if organization is not None else None,
    )
    request = replace(
        inputs.request,
        consented_scopes=consented_scopes,
        consent_read=True,
        mfa_required=mfa_required,
        authenticated_with_mfa=authenticated_with_mfa,
    )
    return replace(inputs, request=request)


def stored_grant_inputs(
    client: ClientFacts, target: Target, *, scopes: Iterable[str], user, organization: Organization | None = None
) -> DecisionInputs:
    """A user-delegated grant stored earlier (an authorization code, a device authorization), now
    redeemed: the grant or the policy may have changed since, so it is decided again (for the
    ``organization`` it was issued for, if any)."""
    return request_inputs(
        client,
        target,
        scopes=scopes,
        scope_given=True,
        user=user,
        organization_asked=organization.id if organization is not None else None,
        organization=organization_facts(organization, user=user),
    )


def well_formed_inputs(
    client: ClientFacts,
    target: Target,
    *,
    scopes: Iterable[str],
    scope_given: bool,
    source: AudienceSource | None = AudienceSource.AUDIENCE,
    redirect_uri: str | None = VERIFIABLE_REDIRECT_URI,
    original_scopes: frozenset[str] | None = None,
    organization: OrganizationFacts | None = None,
) -> DecisionInputs:
    """A request as a well-behaved client sends it (PKCE S256, no unknown parameter): what the
    admin's simulator and access matrix and the partner catalog ask about; with ``organization``,
    one that names that organization by its id."""
    return request_inputs(
        client,
        target,
        scopes=scopes,
        scope_given=scope_given,
        source=source,
        code_challenge_method="S256",
        redirect_uri=redirect_uri,
        original_scopes=original_scopes,
        organization_asked=organization.id if organization is not None else None,
        organization=organization,
    )
