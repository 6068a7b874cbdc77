"""Rule 6 with organizations, table-driven: every kind of app, organization setting and user.

``expected`` and ``expected_machine`` are the tables a tenant admin reads (Auth0's rules for
organizations with first- and third-party apps), written independently of ``oauthcore.policy``.
"""

import itertools
from dataclasses import replace

import pytest

from oauthcore.policy import (
    DENIAL_REASONS,
    AudienceSource,
    Flow,
    GrantFacts,
    OrganizationFacts,
    RequestFacts,
    Rule,
    decide,
)
from tests.oauthcore.test_policy import CLIENTS, CUSTOM, OWN

KINDS = ("first_party", "strict", "permissive")
USAGES = ("deny", "allow", "require")
BEHAVIORS = ("no_prompt", "pre_login_prompt")
ORGANIZATIONS = ("none", "unknown", "blocks_third_party", "allows_third_party")
USERS = ("not_known_yet", "member", "member_non_domain", "joins", "stranger", "connection_not_enabled")

INVALID = "parameter organization is invalid: {}"
ORG_ID = "org_abc"


def expected(kind, usage, behavior, organization, user):
    """("allowed", org_id or None, joins) or ("denied", reason, error)."""
    third_party = kind != "first_party"
    if organization == "none":
        asked_later = behavior != "no_prompt" and user == "not_known_yet"  # the user is asked for it
        if usage == "require" and not asked_later:
            return "denied", "organization_required", "invalid_request"
        if third_party and user == "member_non_domain":
            return "denied", "connection_not_domain_level", "access_denied"  # rule 6 without organizations
        return "allowed", None, False
    if kind == "permissive":
        return "denied", "organization_permissive_client", "invalid_request"
    if usage == "deny":
        return "denied", "organization_not_allowed", "invalid_request"
    if organization == "unknown":
        return "denied", "organization_not_found", "invalid_request"
    if third_party and organization == "blocks_third_party":
        return "denied", "organization_blocks_third_party", "invalid_request"
    if user == "not_known_yet":
        return "allowed", ORG_ID, False
    if user == "connection_not_enabled":
        return "denied", "organization_connection_not_enabled", "invalid_request" if third_party else "access_denied"
    if user == "member_non_domain" and third_party:
        return "denied", "organization_connection_not_domain_level", "invalid_request"
    if user == "stranger":
        return "denied", "organization_membership_missing", "access_denied"
    return "allowed", ORG_ID, user == "joins"


def organization_of(organization: str, user: str) -> tuple[str | None, OrganizationFacts | None]:
    """(organization_asked, the facts) for a case."""
    if organization == "none":
        return None, None
    if organization == "unknown":
        return "org_unknown", None
    facts = OrganizationFacts(ORG_ID, "acme", allows_third_party=organization == "allows_third_party")
    if user != "not_known_yet":
        facts = replace(
            facts,
            user_is_member=user in ("member", "member_non_domain", "connection_not_enabled"),
            user_connection_enabled=user != "connection_not_enabled",
            user_connection_assigns_membership=user == "joins",
        )
    return ORG_ID, facts


def request_of(organization: str, user: str) -> RequestFacts:
    asked, facts = organization_of(organization, user)
    known = {} if user == "not_known_yet" else {"user_connection_is_domain": user != "member_non_domain"}
    return RequestFacts(
        requested_scopes=frozenset({"read"}),
        scope_given=True,
        audience=CUSTOM.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=OWN,
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
        organization_asked=asked,
        organization=facts,
        user_connection_enabled=True,
        **known,
    )


CASES = list(itertools.product(KINDS, USAGES, BEHAVIORS, ORGANIZATIONS, USERS))


@pytest.mark.parametrize(("kind", "usage", "behavior", "organization", "user"), CASES)
def test_organizations_in_user_flows(kind, usage, behavior, organization, user):
    client = replace(CLIENTS[kind], organization_usage=usage, organization_require_behavior=behavior)
    decision = decide(client, CUSTOM, request_of(organization, user), Flow.AUTHORIZE)
    outcome = expected(kind, usage, behavior, organization, user)
    if outcome[0] == "allowed":
        assert decision.allowed, decision.trace
        assert (decision.organization.id if decision.organization else None, decision.join_organization) == outcome[1:]
        if decision.organization is not None:
            assert any(line.startswith(f"{Rule.CONNECTION.value}. the organization acme") for line in decision.trace)
        return
    assert decision.denied
    assert (decision.reason, decision.error) == outcome[1:], decision.trace
    assert DENIAL_REASONS[decision.reason].rule is Rule.CONNECTION
    if decision.error == "invalid_request" and decision.reason not in (
        "organization_required",
        "organization_not_allowed",
    ):
        # Auth0's words, with the organization as the request named it (or its id once found).
        named = "org_unknown" if organization == "unknown" else ORG_ID
        assert decision.description == INVALID.format(named)
    assert decision.status == (400 if decision.error == "invalid_request" else 403)


def test_the_table_covers_every_combination():
    assert len(CASES) == len(KINDS) * len(USAGES) * len(BEHAVIORS) * len(ORGANIZATIONS) * len(USERS) == 432
    reasons = {expected(*case)[1] for case in CASES if expected(*case)[0] == "denied"}
    user_flow_reasons = {name for name in DENIAL_REASONS if name.startswith("organization_")}
    assert reasons == user_flow_reasons | {"connection_not_domain_level"}  # every organization rule has rows


def test_the_code_exchange_and_the_refresh_keep_and_recheck_the_organization():
    client = replace(CLIENTS["strict"], organization_usage="allow")
    member = request_of("allows_third_party", "member")
    for flow in (Flow.AUTHORIZATION_CODE, Flow.REFRESH_TOKEN):
        request = replace(
            member, original_scopes=frozenset({"read"}), consent_read=True, consented_scopes=frozenset({"read"})
        )
        assert decide(client, CUSTOM, request, flow).organization.id == ORG_ID
    removed = replace(member, organization=replace(member.organization, user_is_member=False))
    refresh = replace(
        removed, original_scopes=frozenset({"read"}), consent_read=True, consented_scopes=frozenset({"read"})
    )
    assert decide(client, CUSTOM, refresh, Flow.REFRESH_TOKEN).reason == "organization_membership_missing"
    # Joining happens at /authorize only: a code or refresh never makes a member.
    joins = request_of("allows_third_party", "joins")
    assert decide(client, CUSTOM, joins, Flow.AUTHORIZATION_CODE).reason == "organization_membership_missing"


# -- client credentials ---------------------------------------------------------------------------

GRANT_USAGES = (None, "deny", "allow", "require")
MACHINE_ORGANIZATIONS = ("none", "unknown", "associated", "not_associated", "associated_blocks_third_party")
MACHINE_CASES = list(itertools.product(("first_party", "strict"), GRANT_USAGES, (False, True), MACHINE_ORGANIZATIONS))


def expected_machine(kind, usage, allow_any, organization):
    usage = usage or "deny"
    if organization == "none":
        return ("denied", "grant_organization_required") if usage == "require" else ("allowed", None)
    if usage == "deny":
        return "denied", "grant_organization_denied"
    if organization == "unknown":
        return "denied", "organization_not_found"
    if organization == "not_associated" and not allow_any:
        return "denied", "grant_organization_not_associated"
    return "allowed", ORG_ID  # third-party access is not looked at for client credentials


@pytest.mark.parametrize(("kind", "usage", "allow_any", "organization"), MACHINE_CASES)
def test_organizations_in_client_credentials(kind, usage, allow_any, organization):
    grant = GrantFacts("cgr_m2m", frozenset({"read"}), organization_usage=usage, allow_any_organization=allow_any)
    asked, facts = None, None
    if organization == "unknown":
        asked = "org_unknown"
    elif organization != "none":
        asked = ORG_ID
        facts = OrganizationFacts(
            ORG_ID,
            "acme",
            allows_third_party=organization != "associated_blocks_third_party",
            grant_associated=organization != "not_associated",
        )
    request = RequestFacts(
        audience=CUSTOM.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=grant,
        organization_asked=asked,
        organization=facts,
    )
    decision = decide(CLIENTS[kind], CUSTOM, request, Flow.CLIENT_CREDENTIALS)
    outcome = expected_machine(kind, usage, allow_any, organization)
    if outcome[0] == "allowed":
        assert decision.allowed, decision.trace
        assert (decision.organization.id if decision.organization else None) == outcome[1]
    else:
        assert decision.reason == outcome[1], decision.trace
        assert DENIAL_REASONS[decision.reason].rule is Rule.CONNECTION
