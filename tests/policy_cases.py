"""The access-decision matrix (``oauthcore.policy.Rule``), shared by the unit tests of ``decide`` and the
same cases run over HTTP against a live server.

``expected`` is the table a tenant admin reads (Auth0's policy table for first- and third-party
apps), written independently of ``oauthcore.policy``.
"""

import itertools

CLIENT_KINDS = ("first_party", "strict", "permissive")
USER_POLICIES = ("allow_all", "require_client_grant", "deny_all")
CLIENT_POLICIES = ("require_client_grant", "deny_all")
GRANT_SITUATIONS = ("own", "default", "both", "none")
API_KINDS = ("custom", "system")
FLOWS = ("authorize", "client_credentials")

API_SCOPES = frozenset({"read", "write", "admin"})
OWN_SCOPES = frozenset({"read"})
DEFAULT_SCOPES = frozenset({"write"})
REQUESTED = frozenset({"read", "write", "admin"})

CASES = list(itertools.product(CLIENT_KINDS, USER_POLICIES, CLIENT_POLICIES, GRANT_SITUATIONS, API_KINDS, FLOWS))


def grants_of(situation: str) -> tuple[bool, bool]:
    """(has own grant, has default grant)."""
    return situation in ("own", "both"), situation in ("default", "both")


def expected(client_kind, user_policy, client_policy, grants, api_kind, flow):
    """("allowed", scopes) or ("denied", reason)."""
    first_party = client_kind == "first_party"
    has_own, has_default = grants_of(grants)
    if api_kind == "system" and not first_party:
        return "denied", "system_api_third_party"
    policy = user_policy if flow == "authorize" else client_policy
    if policy == "deny_all":
        return "denied", "policy_deny_all"
    if policy == "allow_all" and client_kind != "strict":
        return "allowed", REQUESTED & API_SCOPES
    if has_own:
        ceiling = OWN_SCOPES
    elif has_default and not first_party and api_kind != "system":
        ceiling = DEFAULT_SCOPES
    else:
        return "denied", "client_grant_missing"
    if flow == "client_credentials":
        return "allowed", ceiling  # no scope parameter: the whole ceiling
    return "allowed", REQUESTED & ceiling


def denial_message(client_id: str, audience: str, flow: str, reason: str) -> str:
    message = f'Client "{client_id}" is not authorized to access resource server "{audience}".'
    if flow == "client_credentials" and reason != "system_api_third_party":
        message += ' You need to create a "client-grant" associated to this API.'
    return message


# -- the system APIs reached on a user's behalf ------------------------------------------------------
# The My Organization, My Account and MFA APIs, as every tenant has them: per-app authorization for
# users, no client access. Each row: (API, client kind, flow, grant situation) -> outcome.

USER_DELEGATED_SYSTEM_APIS = ("my_organization", "my_account", "mfa")
SYSTEM_API_FLOWS = ("authorization_code", "refresh_token", "device_code", "client_credentials")
SYSTEM_API_GRANTS = ("own", "default", "none")

SYSTEM_API_CASES = list(
    itertools.product(USER_DELEGATED_SYSTEM_APIS, CLIENT_KINDS, SYSTEM_API_FLOWS, SYSTEM_API_GRANTS)
)


def system_api_expected(client_kind: str, flow: str, grants: str):
    """("allowed", scopes) or ("denied", reason), as a tenant admin reads it: a third-party app never
    (a strict one is refused the device grant before anything else); a first-party app with its own
    grant, on a user's behalf only; a default grant for third-party apps counts for nobody."""
    if client_kind == "strict" and flow == "device_code":
        return "denied", "grant_type_not_allowed"
    if client_kind != "first_party":
        return "denied", "system_api_third_party"
    if flow == "client_credentials":
        return "denied", "policy_deny_all"
    if grants != "own":
        return "denied", "client_grant_removed" if flow == "refresh_token" else "client_grant_missing"
    return "allowed", REQUESTED & OWN_SCOPES


# Rule 10 at a refresh (Auth0's rule for third-party apps and MFA): the tenant's MFA policy, and
# whether the login the refresh token came from used a second factor.
MFA_POLICIES = ("never", "optional", "always")
MFA_CASES = list(itertools.product(CLIENT_KINDS, MFA_POLICIES, (True, False)))


def expected_refresh_with_mfa(client_kind: str, mfa_policy: str, login_used_mfa: bool) -> str:
    """ "allowed", or the denial reason: a strict third-party app never gets a token of a login
    without the second factor the tenant requires."""
    if client_kind == "strict" and mfa_policy == "always" and not login_used_mfa:
        return "mfa_required"
    return "allowed"
