"""The access decision (``oauthcore.policy.Rule``), table-driven over every kind of app, policy, grant and API."""

import ast
import inspect

import pytest

from oauthcore import policy
from oauthcore.conf import portcullis_settings
from oauthcore.policy import (
    DENIAL_REASONS,
    ApiFacts,
    AudienceSource,
    ClientFacts,
    Flow,
    GrantFacts,
    RequestFacts,
    Rule,
    decide,
    resolve_audience,
)
from tests.policy_cases import (
    API_SCOPES,
    CASES,
    DEFAULT_SCOPES,
    MFA_CASES,
    OWN_SCOPES,
    REQUESTED,
    SYSTEM_API_CASES,
    denial_message,
    expected,
    expected_refresh_with_mfa,
    grants_of,
    system_api_expected,
)

AC, RT, CC, DEVICE = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
)
ALL_GRANT_TYPES = frozenset({AC, RT, CC, DEVICE})
CLIENTS = {
    "first_party": ClientFacts("fp_client", True, "", "regular_web", ALL_GRANT_TYPES, True),
    "strict": ClientFacts("tpc_strict", False, "strict", "regular_web", frozenset({AC, RT, CC}), True),
    "permissive": ClientFacts("permissive_client", False, "permissive", "regular_web", ALL_GRANT_TYPES, True),
}
OWN = GrantFacts("cgr_own", OWN_SCOPES)
DEFAULT = GrantFacts("cgr_default", DEFAULT_SCOPES, is_default=True)
FLOW_OF = {"authorize": Flow.AUTHORIZE, "client_credentials": Flow.CLIENT_CREDENTIALS}


def api(kind: str, user_policy: str, client_policy: str) -> ApiFacts:
    identifier = "https://tenant.example.com/api/v2/" if kind == "system" else "https://orders.example.com/"
    return ApiFacts(identifier, kind == "system", user_policy, client_policy, API_SCOPES)


@pytest.mark.parametrize(("client_kind", "user_policy", "client_policy", "grants", "api_kind", "flow"), CASES)
def test_policy_matrix(client_kind, user_policy, client_policy, grants, api_kind, flow):
    client = CLIENTS[client_kind]
    has_own, has_default = grants_of(grants)
    target = api(api_kind, user_policy, client_policy)
    request = RequestFacts(
        requested_scopes=REQUESTED if flow == "authorize" else frozenset(),
        scope_given=flow == "authorize",
        audience=target.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=OWN if has_own else None,
        default_grant=DEFAULT if has_default else None,
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
    )
    decision = decide(client, target, request, FLOW_OF[flow])
    outcome, detail = expected(client_kind, user_policy, client_policy, grants, api_kind, flow)
    if outcome == "allowed":
        assert decision.allowed, decision.trace
        assert decision.scopes == detail
        assert decision.audience == target.identifier
    else:
        assert decision.denied and decision.reason == detail, decision.trace
        assert decision.error == "access_denied" and decision.status == 403
        assert decision.description == denial_message(client.client_id, target.identifier, flow, detail)


def test_matrix_covers_every_combination():
    assert len(CASES) == 3 * 3 * 2 * 4 * 2 * 2


# -- the system APIs reached on a user's behalf (rules 3 and 4) ------------------------------------

SYSTEM_API_IDENTIFIERS = {
    "my_organization": portcullis_settings.my_organization_api_identifier,
    "my_account": portcullis_settings.my_account_api_identifier,
    "mfa": portcullis_settings.mfa_api_identifier,
}
SYSTEM_API_FLOW_OF = {
    "authorization_code": Flow.AUTHORIZE,
    "refresh_token": Flow.REFRESH_TOKEN,
    "device_code": Flow.DEVICE_CODE,
    "client_credentials": Flow.CLIENT_CREDENTIALS,
}


@pytest.mark.parametrize(("system_api", "client_kind", "flow", "grants"), SYSTEM_API_CASES)
def test_user_delegated_system_apis(system_api, client_kind, flow, grants):
    """The My Organization, My Account and MFA APIs as every tenant has them (per-app authorization for
    users, no client access): third-party apps, strict or permissive, are refused in every flow with
    the system-API sentence; a first-party app needs its own grant; a default grant for third-party
    apps never applies; client credentials meet the "No apps allowed" client policy."""
    client = CLIENTS[client_kind]
    target = ApiFacts(SYSTEM_API_IDENTIFIERS[system_api], True, "require_client_grant", "deny_all", API_SCOPES)
    user_flow = flow != "client_credentials"
    request = RequestFacts(
        requested_scopes=REQUESTED if flow in ("authorization_code", "device_code") else frozenset(),
        scope_given=flow in ("authorization_code", "device_code"),
        audience=target.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=OWN if grants == "own" else None,
        default_grant=DEFAULT if grants == "default" else None,
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
        original_scopes=REQUESTED if flow == "refresh_token" else None,
    )
    decision = decide(client, target, request, SYSTEM_API_FLOW_OF[flow])
    outcome, detail = system_api_expected(client_kind, flow, grants)
    if outcome == "allowed":
        assert decision.allowed, decision.trace
        assert decision.scopes == detail and decision.audience == target.identifier
        return
    assert decision.denied and decision.reason == detail, decision.trace
    if detail == "grant_type_not_allowed":
        assert decision.description == f"Grant type '{DEVICE}' not allowed for the client."
        return
    assert (decision.error, decision.status) == ("access_denied", 403)
    sentence = f'Client "{client.client_id}" is not authorized to access resource server "{target.identifier}".'
    if not user_flow and detail == "policy_deny_all":
        sentence += ' You need to create a "client-grant" associated to this API.'
    assert decision.description == sentence


def test_the_system_api_table_covers_every_combination():
    assert len(SYSTEM_API_CASES) == 3 * 3 * 4 * 3
    assert len(set(SYSTEM_API_IDENTIFIERS.values())) == 3


# -- rule 1: grant types ------------------------------------------------------------------------

CUSTOM = api("custom", "allow_all", "require_client_grant")


def user_request(**overrides) -> RequestFacts:
    values = dict(
        requested_scopes=frozenset({"read"}),
        scope_given=True,
        audience=CUSTOM.identifier,
        audience_source=AudienceSource.AUDIENCE,
        own_grant=OWN,
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
    )
    values.update(overrides)
    return RequestFacts(**values)


def test_a_grant_type_the_client_does_not_list_is_refused():
    client = ClientFacts("spa", True, "", "spa", frozenset({AC}), False)
    decision = decide(client, CUSTOM, user_request(), Flow.CLIENT_CREDENTIALS)
    assert (decision.error, decision.status) == ("unauthorized_client", 403)
    assert decision.description == "Grant type 'client_credentials' not allowed for the client."


def test_strict_apps_never_get_the_device_grant_even_if_listed():
    client = ClientFacts("tpc_x", False, "strict", "native", frozenset({AC, DEVICE}), False)
    decision = decide(client, CUSTOM, user_request(), Flow.DEVICE_CODE)
    assert decision.description == f"Grant type '{DEVICE}' not allowed for the client."
    permissive = ClientFacts("perm", False, "permissive", "native", frozenset({AC, DEVICE}), False)
    assert decide(permissive, CUSTOM, user_request(), Flow.DEVICE_CODE).allowed


@pytest.mark.parametrize(
    "client",
    [
        ClientFacts("tpc_pub", False, "strict", "spa", frozenset({AC, CC}), False),
        ClientFacts("tpc_dcr", False, "strict", "regular_web", frozenset({AC, CC}), True, dynamically_registered=True),
    ],
)
def test_strict_client_credentials_needs_a_confidential_non_dynamic_client(client):
    decision = decide(client, CUSTOM, RequestFacts(audience=CUSTOM.identifier, own_grant=OWN), Flow.CLIENT_CREDENTIALS)
    assert decision.reason == "grant_type_not_allowed"


@pytest.mark.parametrize(
    ("method", "reason", "message"),
    [
        (None, "pkce_required", "PKCE is required: send code_challenge with code_challenge_method=S256."),
        ("plain", "pkce_method_refused", "code_challenge_method must be S256."),
    ],
)
def test_strict_apps_must_use_pkce_s256(method, reason, message):
    decision = decide(CLIENTS["strict"], CUSTOM, user_request(code_challenge_method=method), Flow.AUTHORIZE)
    assert (decision.error, decision.reason, decision.description) == ("invalid_request", reason, message)


def test_strict_apps_may_send_only_supported_authorize_parameters():
    request = user_request(parameters=frozenset({"client_id", "scope", "request_uri", "screen_hint", "ext-trace"}))
    decision = decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE)
    assert (decision.error, decision.reason) == ("invalid_request", "unsupported_parameters")
    assert decision.description == "Parameters not supported for third-party applications: request_uri, screen_hint"
    assert decide(CLIENTS["first_party"], CUSTOM, request, Flow.AUTHORIZE).allowed
    assert decide(
        CLIENTS["strict"], CUSTOM, user_request(parameters=frozenset({"ext-x", "state"})), Flow.AUTHORIZE
    ).allowed


# -- rule 2: audience ---------------------------------------------------------------------------


def test_audience_wins_over_resource_then_the_tenant_default():
    assert resolve_audience(audience="https://a/", resource="https://b/", default_audience="https://c/") == (
        "https://a/",
        AudienceSource.AUDIENCE,
    )
    assert resolve_audience(audience=None, resource="https://b/", default_audience="https://c/") == (
        "https://b/",
        AudienceSource.RESOURCE,
    )
    assert resolve_audience(audience="", resource=None, default_audience="https://c/") == (
        "https://c/",
        AudienceSource.DEFAULT,
    )
    assert resolve_audience(audience=None, resource=None, default_audience="") == (None, None)


@pytest.mark.parametrize(
    ("source", "error", "status"),
    [(AudienceSource.AUDIENCE, "access_denied", 403), (AudienceSource.RESOURCE, "invalid_target", 400)],
)
def test_an_unknown_audience_is_not_found(source, error, status):
    request = user_request(audience="https://nowhere.example.com/", audience_source=source)
    decision = decide(CLIENTS["first_party"], None, request, Flow.AUTHORIZE)
    assert (decision.error, decision.status) == (error, status)
    assert decision.description == "Service not found: https://nowhere.example.com/"


def test_no_audience_gives_first_party_apps_a_userinfo_token():
    request = user_request(audience=None, audience_source=None, requested_scopes=frozenset({"openid", "profile"}))
    decision = decide(CLIENTS["first_party"], None, request, Flow.AUTHORIZE)
    assert decision.allowed and decision.audience is None
    assert decision.scopes == {"openid", "profile"} and decision.issue_id_token


def test_no_audience_is_refused_to_strict_third_party_apps():
    request = user_request(audience=None, audience_source=None)
    decision = decide(CLIENTS["strict"], None, request, Flow.AUTHORIZE)
    assert (decision.error, decision.status) == ("access_denied", 403)
    assert decision.description == (
        "The userinfo audience is not allowed for third party clients. Please specify a valid API audience."
    )


def test_client_credentials_without_any_audience():
    decision = decide(CLIENTS["first_party"], None, RequestFacts(), Flow.CLIENT_CREDENTIALS)
    assert decision.description == "No audience parameter was provided, and no default audience has been configured"


# -- rule 5: scopes -----------------------------------------------------------------------------

REQUIRE = api("custom", "require_client_grant", "require_client_grant")
WIDE = GrantFacts("cgr_wide", frozenset({"read", "write"}))


def test_client_credentials_scopes_outside_the_grant_are_refused():
    request = RequestFacts(
        requested_scopes=frozenset({"read", "admin", "fly"}),
        scope_given=True,
        audience=REQUIRE.identifier,
        own_grant=WIDE,
    )
    decision = decide(CLIENTS["strict"], REQUIRE, request, Flow.CLIENT_CREDENTIALS)
    assert (decision.error, decision.status) == ("access_denied", 403)
    assert decision.description == "Client has not been granted scopes: admin fly"


def test_client_credentials_asking_for_a_subset_gets_the_subset():
    request = RequestFacts(requested_scopes=frozenset({"read"}), scope_given=True, own_grant=WIDE)
    assert decide(CLIENTS["strict"], REQUIRE, request, Flow.CLIENT_CREDENTIALS).scopes == {"read"}


def test_allow_all_scopes_grant_covers_every_api_scope():
    grant = GrantFacts("cgr_all", frozenset(), allow_all_scopes=True)
    decision = decide(CLIENTS["strict"], REQUIRE, RequestFacts(own_grant=grant), Flow.CLIENT_CREDENTIALS)
    assert decision.scopes == API_SCOPES


def test_user_flows_grant_only_what_is_asked_for():
    decision = decide(
        CLIENTS["strict"], REQUIRE, user_request(requested_scopes=frozenset({"write"}), own_grant=WIDE), Flow.AUTHORIZE
    )
    assert decision.scopes == {"write"}


def test_asking_for_nothing_grantable_is_an_error_not_a_consent_screen():
    decision = decide(CLIENTS["strict"], REQUIRE, user_request(requested_scopes=frozenset({"admin"})), Flow.AUTHORIZE)
    assert (decision.error, decision.reason, decision.status) == ("invalid_scope", "nothing_grantable", 400)


def refresh_request(**overrides):
    values = dict(original_scopes=frozenset({"read", "write", "offline_access"}), own_grant=WIDE)
    values.update(overrides)
    return RequestFacts(**values)


@pytest.mark.parametrize(("client_kind", "mfa_policy", "login_used_mfa"), MFA_CASES)
def test_rule_10_a_refresh_is_held_to_the_tenants_mfa_policy(client_kind, mfa_policy, login_used_mfa):
    request = refresh_request(mfa_required=mfa_policy == "always", authenticated_with_mfa=login_used_mfa)
    decision = decide(CLIENTS[client_kind], CUSTOM, request, Flow.REFRESH_TOKEN)
    outcome = expected_refresh_with_mfa(client_kind, mfa_policy, login_used_mfa)
    if outcome == "allowed":
        assert decision.allowed, decision.trace
        assert any(step.rule is Rule.MFA for step in decision.steps)
    else:
        # Never a silent downgrade: the refresh is refused, saying why (RFC 6749 §5.2 invalid_grant).
        assert (decision.error, decision.description, decision.status) == (
            "invalid_grant",
            "Multifactor authentication required",
            400,
        )
        assert decision.reason == outcome and decision.steps[-1].rule is Rule.MFA


def test_refresh_without_scope_keeps_the_original_scopes():
    api_offline = ApiFacts(REQUIRE.identifier, False, "require_client_grant", "deny_all", API_SCOPES, True)
    decision = decide(CLIENTS["strict"], api_offline, refresh_request(), Flow.REFRESH_TOKEN)
    assert decision.scopes == {"read", "write", "offline_access"} and decision.issue_refresh_token


def test_refresh_narrows_to_the_current_grant():
    decision = decide(CLIENTS["strict"], REQUIRE, refresh_request(own_grant=OWN), Flow.REFRESH_TOKEN)
    assert decision.scopes == {"read"}


def test_refresh_asking_for_more_than_the_original_is_invalid_scope():
    request = refresh_request(requested_scopes=frozenset({"read", "admin"}), scope_given=True)
    decision = decide(CLIENTS["strict"], REQUIRE, request, Flow.REFRESH_TOKEN)
    assert (decision.error, decision.status) == ("invalid_scope", 400)
    assert decision.description == "The requested scope exceeds the scope originally granted: admin"


def test_refresh_after_the_grant_was_removed_is_access_denied():
    decision = decide(CLIENTS["strict"], REQUIRE, refresh_request(own_grant=None), Flow.REFRESH_TOKEN)
    assert (decision.error, decision.reason) == ("access_denied", "client_grant_removed")


# -- rule 6: connections ------------------------------------------------------------------------


def test_third_party_apps_only_use_domain_level_connections():
    decision = decide(CLIENTS["strict"], CUSTOM, user_request(user_connection_is_domain=False), Flow.AUTHORIZE)
    assert decision.reason == "connection_not_domain_level"
    assert decision.description == (
        "Third-party applications can only authenticate users through domain-level connections."
    )
    assert decide(CLIENTS["first_party"], CUSTOM, user_request(user_connection_is_domain=False), Flow.AUTHORIZE).allowed
    assert decide(CLIENTS["strict"], CUSTOM, user_request(user_connection_is_domain=True), Flow.AUTHORIZE).allowed


def test_first_party_apps_use_the_enterprise_connections_enabled_for_them():
    not_enabled = user_request(user_connection_is_domain=False, user_connection_enabled=False)
    refused = decide(CLIENTS["first_party"], CUSTOM, not_enabled, Flow.AUTHORIZE)
    assert (refused.error, refused.reason, refused.status) == ("access_denied", "connection_not_enabled", 403)
    assert refused.description == "The user's connection is not enabled for this client."
    enabled = user_request(user_connection_is_domain=False, user_connection_enabled=True)
    assert decide(CLIENTS["first_party"], CUSTOM, enabled, Flow.AUTHORIZE).allowed
    # A domain-level connection opens a third-party app whether or not it is enabled for it.
    request = user_request(user_connection_is_domain=True, user_connection_enabled=False)
    assert decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE).allowed


# -- rule 7: consent ----------------------------------------------------------------------------

SKIPPABLE = ApiFacts("https://skip.example.com/", False, "allow_all", "deny_all", API_SCOPES, False, True)


def test_third_party_apps_always_ask_for_consent_even_where_first_party_skip():
    decision = decide(CLIENTS["strict"], SKIPPABLE, user_request(), Flow.AUTHORIZE)
    assert decision.consent_required and decision.scopes_to_consent == {"read"}
    assert not decide(CLIENTS["first_party"], SKIPPABLE, user_request(), Flow.AUTHORIZE).consent_required


def test_first_party_apps_on_localhost_are_asked():
    request = user_request(redirect_uri="http://localhost:3000/cb")
    assert decide(CLIENTS["first_party"], SKIPPABLE, request, Flow.AUTHORIZE).consent_required


def test_stored_consent_covers_a_repeat_request_and_only_new_scopes_are_shown():
    covered = user_request(consented_scopes=frozenset({"read"}))
    assert not decide(CLIENTS["strict"], CUSTOM, covered, Flow.AUTHORIZE).consent_required
    wider = user_request(
        requested_scopes=frozenset({"read", "write"}), own_grant=WIDE, consented_scopes=frozenset({"read"})
    )
    decision = decide(CLIENTS["strict"], CUSTOM, wider, Flow.AUTHORIZE)
    assert decision.consent_required and decision.scopes_to_consent == {"write"}
    assert decision.scopes == {"read", "write"}


def test_prompt_consent_always_asks():
    request = user_request(consented_scopes=frozenset({"read"}), prompt=frozenset({"consent"}))
    decision = decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE)
    assert decision.consent_required and decision.scopes_to_consent == {"read"}


def test_prompt_none_when_consent_is_needed_is_consent_required():
    decision = decide(CLIENTS["strict"], CUSTOM, user_request(prompt=frozenset({"none"})), Flow.AUTHORIZE)
    assert (decision.error, decision.reason) == ("consent_required", "consent_required")


# -- rule 9: OIDC -------------------------------------------------------------------------------


def test_strict_apps_get_no_oidc_scopes_and_no_id_token():
    request = user_request(requested_scopes=frozenset({"openid", "profile", "read"}))
    decision = decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE)
    assert decision.scopes == {"read"} and not decision.issue_id_token
    assert any("OIDC scopes ignored" in line for line in decision.trace)


@pytest.mark.parametrize("kind", ["first_party", "permissive"])
def test_first_party_and_permissive_apps_get_an_id_token(kind):
    request = user_request(requested_scopes=frozenset({"openid", "read"}))
    decision = decide(CLIENTS[kind], CUSTOM, request, Flow.AUTHORIZE)
    assert decision.scopes == {"openid", "read"} and decision.issue_id_token


def test_offline_access_only_where_the_api_allows_refresh_tokens():
    request = user_request(requested_scopes=frozenset({"read", "offline_access"}))
    assert "offline_access" not in decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE).scopes
    offline = ApiFacts(CUSTOM.identifier, False, "allow_all", "deny_all", API_SCOPES, allow_offline_access=True)
    decision = decide(CLIENTS["strict"], offline, request, Flow.AUTHORIZE)
    assert decision.scopes == {"read", "offline_access"} and decision.issue_refresh_token


def test_every_decision_explains_itself():
    allowed = decide(CLIENTS["strict"], CUSTOM, user_request(), Flow.AUTHORIZE)
    assert [line.split(".")[0] for line in allowed.trace][:4] == ["1", "2", "3", "4"]
    denied = decide(CLIENTS["strict"], REQUIRE, user_request(own_grant=None), Flow.AUTHORIZE)
    assert denied.trace[-1] == "denied: client_grant_missing"


def test_every_trace_line_names_a_rule_in_order():
    """A trace line's number is a member of ``Rule`` (whose statement says the rule), in ``Rule``'s order."""
    client = CLIENTS["first_party"]
    for flow, request in [
        (Flow.AUTHORIZE, user_request(user_connection_is_domain=True, consented_scopes=frozenset())),
        (Flow.CLIENT_CREDENTIALS, RequestFacts(audience=REQUIRE.identifier, own_grant=OWN)),
    ]:
        decision = decide(client, REQUIRE, request, flow)
        rules = [Rule(int(line.split(".")[0])) for line in decision.trace]
        assert decision.allowed and rules == sorted(rules) and rules[0] is Rule.GRANT_TYPE
        assert all(rule.statement for rule in rules)


# -- the decision in words (the access simulator and matrix show these) ---------------------------------


def _reasons_decide_can_give() -> set[str]:
    """Every reason code ``decide`` raises, read from the module's own source."""
    reasons = set()
    for node in ast.walk(ast.parse(inspect.getsource(policy))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_Denied":
            argument = node.args[2]
            for constant in ast.walk(argument):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    reasons.add(constant.value)
    return reasons


def test_every_denial_reason_has_a_rule_and_a_sentence():
    reasons = _reasons_decide_can_give()
    assert len(reasons) > 15 and reasons == set(DENIAL_REASONS)
    for denial in DENIAL_REASONS.values():
        assert denial.short and denial.sentence.endswith(".") and denial.sentence[0].isupper()
        assert "_" not in denial.short + denial.sentence.replace("prompt=none", "")


def test_every_rule_has_a_title_in_words():
    assert all(rule.title and "_" not in rule.title for rule in Rule)
    assert len({rule.title for rule in Rule}) == len(Rule)


def test_the_steps_are_in_rule_order_and_end_with_the_rule_that_refused():
    request = user_request(requested_scopes=frozenset({"openid", "read"}))
    allowed = decide(CLIENTS["strict"], CUSTOM, request, Flow.AUTHORIZE)
    traced = [int(line.split(".")[0]) for line in allowed.trace]
    assert traced != sorted(traced)  # the OIDC note (rule 9) is made before the scopes' (rule 5)
    assert [step.rule for step in allowed.steps] == sorted(Rule(number) for number in traced)
    assert all(step.passed for step in allowed.steps) and allowed.denial is None

    denied = decide(CLIENTS["strict"], REQUIRE, user_request(own_grant=None), Flow.AUTHORIZE)
    last = denied.steps[-1]
    assert (last.rule, last.passed) == (Rule.POLICY, False)
    assert last.text == DENIAL_REASONS["client_grant_missing"].sentence
    assert [step.rule for step in denied.steps[:-1]] == [Rule.GRANT_TYPE, Rule.AUDIENCE, Rule.SYSTEM_API]


def test_trace_lines_name_a_policy_by_its_label_never_its_value():
    decision = decide(CLIENTS["strict"], REQUIRE, user_request(), Flow.AUTHORIZE)
    policy_line = next(step.text for step in decision.steps if step.rule is Rule.POLICY)
    assert policy_line.startswith("user-delegated access is “Per-app authorization”")
    assert not any("require_client_grant" in line or "allow_all" in line for line in decision.trace)
