"""django-oauth-toolkit's internals the server depends on have not changed under it.

``PolicyValidator`` overrides DOT methods (private ones among them), copies two of their bodies and
calls private helpers; the OAuthLib backends, the oauthlib server and its device code grant, and the
token view do the same on a smaller scale.
Each such upstream method is pinned below by a digest of its code as it was when ours was written
(django-oauth-toolkit 3.4.1, oauthlib 3.3.1). When an upgrade changes one, its test fails, naming
the method and what to re-check; once ours is adjusted (or found still right), update the digest.

The digest covers the code only: the parsed function without its docstring, so a reformatting or
a comment does not count as a change, but any change to what it does does.
"""

import ast
import difflib
import hashlib
import inspect
import pkgutil
import textwrap

import oauth2_provider
import oauthlib
import pytest

from oauthcore.oauthlib_core import DeviceCodeGrant, FormOrJSONOAuthLibCore, Server
from oauthcore.validator import PolicyValidator
from oauthcore.views.authorize import AuthorizeOAuthLibCore
from oauthcore.views.tokens import IntrospectView, RevokeView, TokenView, UserInfoView

WRITTEN_AGAINST = "django-oauth-toolkit 3.4.1, oauthlib 3.3.1"
VALIDATOR = "oauth2_provider.oauth2_validators:OAuth2Validator"
BACKEND = "oauth2_provider.oauth2_backends:OAuthLibCore"
TOKEN_VIEW = "oauth2_provider.views.base:TokenView"

# Our classes built on DOT's: every method of theirs that overrides one of DOT's must be pinned.
OURS = (PolicyValidator, FormOrJSONOAuthLibCore, AuthorizeOAuthLibCore, TokenView, RevokeView, UserInfoView)
OURS += (IntrospectView, Server, DeviceCodeGrant)
OIDC_SERVER = "oauthlib.openid.connect.core.endpoints.pre_configured:Server"
TOKEN_ENDPOINT = "oauthlib.oauth2.rfc6749.endpoints.token:TokenEndpoint"
REVOCATION_ENDPOINT = "oauthlib.oauth2.rfc6749.endpoints.revocation:RevocationEndpoint"

# upstream method -> (digest of its code, what to re-check in ours when it changes)
PINS = {
    # -- client authentication
    f"{VALIDATOR}.authenticate_client": (
        "1c99c94966f24625",
        "PolicyValidator.authenticate_client wraps it to tell _check_secret whose secret is checked: "
        "check every way it authenticates a client still goes through _check_secret.",
    ),
    f"{VALIDATOR}._check_secret": (
        "a91e782cd81afa83",
        "PolicyValidator._check_secret (private) also accepts a rotated-out secret still in its grace "
        "period: check the arguments (provided secret, stored digest) and the bool it answers.",
    ),
    f"{VALIDATOR}._authenticate_basic_auth": (
        "dfeea459f877a698",
        "PolicyValidator._authenticate_basic_auth (private) turns the ValueError of a non-ASCII Basic "
        "header into a failed authentication: if upstream now handles it, drop the override.",
    ),
    f"{VALIDATOR}._load_application": (
        "9d5f4704aec7cfb2",
        "PolicyValidator._load_application (private) loads the client with the policy stamp (or through "
        "the view's loader, or from a client ID metadata document) before calling it: check it still "
        "reuses a request.client already set, and what it checks on it.",
    ),
    # -- deciding
    f"{VALIDATOR}.validate_grant_type": (
        "3db50336496dfb52",
        "PolicyValidator.validate_grant_type replaces it with the rate limit and policy rule 1: port any new check.",
    ),
    f"{VALIDATOR}.get_default_scopes": (
        "4d7d0d1bf2ccb1a2",
        "PolicyValidator.get_default_scopes answers no scopes (the policy decides the ceiling).",
    ),
    f"{VALIDATOR}.validate_scopes": (
        "9e361cfec1320ea6",
        "PolicyValidator.validate_scopes replaces it with the policy: port any new check.",
    ),
    # -- the authorization code, read once per request
    f"{VALIDATOR}.get_authorization_code_scopes": (
        "842beb612d865f93",
        "PolicyValidator.get_authorization_code_scopes reads the code's row once (_code_grant): port any "
        "change of what it answers.",
    ),
    f"{VALIDATOR}.get_code_challenge": (
        "b2067bebf327b8b5",
        "PolicyValidator.get_code_challenge answers from the code's row read once: port any change.",
    ),
    f"{VALIDATOR}.get_code_challenge_method": (
        "99f0e289c0261d66",
        "PolicyValidator.get_code_challenge_method answers from the code's row read once: port any change.",
    ),
    f"{VALIDATOR}.confirm_redirect_uri": (
        "8561afed10571fbd",
        "PolicyValidator.confirm_redirect_uri checks the code's row read once (invalid_grant on a "
        "mismatch): port any new check.",
    ),
    f"{VALIDATOR}.invalidate_authorization_code": (
        "433f722b0a535154",
        "PolicyValidator.invalidate_authorization_code skips it when _save_bearer_token has deleted the "
        "code already: check it still only deletes the code.",
    ),
    f"{VALIDATOR}.save_authorization_code": (
        "ca118115fd692802",
        "PolicyValidator.save_authorization_code calls it, then stamps the code with the organization "
        "/authorize decided for: check it still saves one Grant row keyed by the code and the client.",
    ),
    f"{VALIDATOR}.validate_code": (
        "1756144b9ea1082c",
        "PolicyValidator.validate_code replaces it (the row read once, replay revocation, the policy "
        "again): port any new check or any new attribute it sets on the request (user, scopes, nonce, claims).",
    ),
    # -- refresh tokens and saving
    f"{VALIDATOR}.validate_refresh_token": (
        "63fb6965aa961e8c",
        "PolicyValidator.validate_refresh_token calls it, then the policy: check it still sets "
        "request.refresh_token_instance and still revokes a reused token's family.",
    ),
    f"{VALIDATOR}.rotate_refresh_token": (
        "3b4b8cf0867c46f9",
        "PolicyValidator.rotate_refresh_token rotates for SPA and native apps only.",
    ),
    f"{VALIDATOR}.save_bearer_token": (
        "df698f35dd8d0663",
        "PolicyValidator.save_bearer_token skips its transaction for client credentials and revokes a "
        "replayed code's tokens after its rollback: check it still only wraps _save_bearer_token in a "
        "transaction.",
    ),
    f"{VALIDATOR}._save_bearer_token": (
        "4dfc8e94ee96b47d",
        "PolicyValidator._save_bearer_token (private) drops the refresh token the policy does not give, "
        "refuses a refresh token revoked meanwhile and deletes the code in the same transaction: check "
        "how it re-reads the refresh token under lock and which exceptions it raises.",
    ),
    f"{VALIDATOR}.revoke_token": (
        "e4d058930fee3289",
        "PolicyValidator.revoke_token calls it and audits a real revocation: check it is still scoped to the client.",
    ),
    f"{VALIDATOR}._set_token_value": (
        "b4bacba9abd283c0",
        "Called by the copies of _create_access_token and _create_refresh_token: check its arguments.",
    ),
    f"{VALIDATOR}._load_id_token": (
        "64b98f5ed36acff3",
        "Called by the copy of _create_access_token: check its argument and what it returns.",
    ),
    f"{VALIDATOR}.get_original_scopes": (
        "c998244164105b8d",
        "PolicyValidator.get_original_scopes answers the decision's scopes (narrowed to today's "
        "ceiling); validate_refresh_token still calls this one for the token's own scopes.",
    ),
    # -- OIDC
    f"{VALIDATOR}.get_claim_dict": (
        "ed217dfb6e7ca5fa",
        "PolicyValidator.get_claim_dict replaces it: check the claims it is expected to hold.",
    ),
    f"{VALIDATOR}.get_oidc_issuer_endpoint": (
        "2601559bf26ac5c7",
        "PolicyValidator.get_oidc_issuer_endpoint answers the configured issuer.",
    ),
    # -- /authorize before the user is known
    f"{VALIDATOR}.validate_response_type": (
        "b848b1ed7e2e476a",
        "PolicyValidator.validate_response_type refuses every response type but code, then calls it: "
        "check what it answers for code.",
    ),
    "oauthlib.openid.connect.core.request_validator:RequestValidator.validate_silent_login": (
        "4ad6339ba10afe46",
        "PolicyValidator.validate_silent_login leaves prompt=none to the view: check oauthlib still asks "
        "it before the user is known, and what a False answer does.",
    ),
    "oauthlib.openid.connect.core.request_validator:RequestValidator.validate_silent_authorization": (
        "24018cfe03db5d41",
        "PolicyValidator.validate_silent_authorization leaves consent_required to the policy: check "
        "oauthlib still asks it before the user is known.",
    ),
    # -- the backends and the token view
    f"{BACKEND}.extract_body": (
        "9e2c377b08a14248",
        "FormOrJSONOAuthLibCore.extract_body adds JSON bodies and AuthorizeOAuthLibCore.extract_body "
        "reads none: check what it answers for a form.",
    ),
    f"{BACKEND}._extract_params": (
        "8553ee8ed3468e30",
        "Private; the device authorization view calls it to build its oauthlib request: check what it "
        "answers (uri, method, body, headers).",
    ),
    f"{TOKEN_VIEW}.authorization_flow_token_response": (
        "78602c9e0e868788",
        "TokenView.authorization_flow_token_response is this body reading the token back only for "
        "app_authorized listeners: port the change.",
    ),
    # -- the oauthlib server
    f"{OIDC_SERVER}.__init__": (
        "a179ab49ca69f4ae",
        "Server.__init__ replaces the device code grant and keeps only the supported grant types: check "
        "the attributes and grant type names it sets.",
    ),
    f"{TOKEN_ENDPOINT}.validate_token_request": (
        "94bb22497e8269c1",
        "Server.validate_token_request adds the repeated-parameter and grant type checks after it.",
    ),
    f"{TOKEN_ENDPOINT}.create_token_response": (
        "bd12a2c34d41a56c",
        "Server.create_token_response replaces the challenge of a 401: check it still answers "
        "(headers, body, status) and calls validate_token_request first.",
    ),
    f"{REVOCATION_ENDPOINT}.validate_revocation_request": (
        "2e7ce8107b2dffd9",
        "Server.validate_revocation_request refuses repeated parameters before it.",
    ),
    f"{REVOCATION_ENDPOINT}.create_revocation_response": (
        "c8792ef31ecbd202",
        "Server.create_revocation_response replaces the challenge of a 401 in its (headers, body, status).",
    ),
    "oauthlib.oauth2.rfc8628.grant_types.device_code:DeviceCodeGrant.create_token_response": (
        "e340f819f34ea33d",
        "DeviceCodeGrant.create_token_response is a copy of this body running the token modifiers (the "
        "ID token) before saving: port the change into the copy, or drop it if upstream runs them now.",
    ),
    f"{TOKEN_VIEW}.post": (
        "99d9854ba51bd9cd",
        "TokenView.post sends the device code's polling through oauthlib like every grant type: port "
        "any change outside DOT's own device branch.",
    ),
}

# upstream method -> (its source as copied into ours, what to re-check when it changes)
COPIED = {
    f"{VALIDATOR}._create_access_token": (
        """
    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        id_token = token.get("id_token", None)
        if id_token:
            id_token = self._load_id_token(id_token)
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token
""",
        "PolicyValidator._create_access_token (private) is a copy of this body plus token_family: port "
        "the change into the copy.",
    ),
    f"{VALIDATOR}._create_refresh_token": (
        """
    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        if previous_refresh_token:
            token_family = previous_refresh_token.token_family
        else:
            token_family = uuid.uuid4()
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=token_family,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token
""",
        "PolicyValidator._create_refresh_token (private) is a copy of this body with the family derived "
        "from the code: port the change into the copy.",
    ),
}


def _code(source: str) -> str:
    """The parsed function of ``source``, without its docstring, comments or layout."""
    tree = ast.parse(textwrap.dedent(source))
    definition = tree.body[0]
    first = definition.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        definition.body = definition.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def code_digest(function) -> str:
    """A digest of ``function``'s code: its parsed source, without its docstring."""
    return hashlib.sha256(_code(inspect.getsource(function)).encode()).hexdigest()[:16]


def upstream(name: str):
    method = pkgutil.resolve_name(name)
    return getattr(method, "__func__", method)


def installed() -> str:
    return f"django-oauth-toolkit {oauth2_provider.__version__}, oauthlib {oauthlib.__version__}"


def upstream_overrides() -> dict[str, str]:
    """Every method of ours that overrides one of DOT's or oauthlib's: {upstream name: our name}."""
    found = {}
    for cls in OURS:
        for name, member in vars(cls).items():
            if not (inspect.isfunction(member) or isinstance(member, staticmethod | classmethod)):
                continue
            for base in cls.__mro__[1:]:
                if name in vars(base) and base.__module__.split(".")[0] in {"oauth2_provider", "oauthlib"}:
                    found[f"{base.__module__}:{base.__qualname__}.{name}"] = f"{cls.__qualname__}.{name}"
                    break
    return found


def test_every_override_of_an_upstream_method_is_pinned():
    unpinned = {name: ours for name, ours in upstream_overrides().items() if name not in PINS | COPIED}
    assert not unpinned, (
        "These methods override django-oauth-toolkit's without a pin in this module: add each upstream "
        f"method to PINS with code_digest(method) (to COPIED if ours copies its body) and what to "
        f"re-check when it changes: {unpinned}"
    )


@pytest.mark.parametrize("name", sorted(PINS))
def test_the_upstream_method_is_the_one_ours_was_written_against(name):
    digest, recheck = PINS[name]
    method = upstream(name)
    unchanged = code_digest(method) == digest
    assert unchanged, (
        f"{name} has changed since {WRITTEN_AGAINST} (installed: {installed()}). {recheck} "
        f"Then pin its new digest, {code_digest(method)!r}.\n\nIts code now:\n{inspect.getsource(method)}"
    )


@pytest.mark.parametrize("name", sorted(COPIED))
def test_the_upstream_body_is_still_the_one_copied(name):
    copied, recheck = COPIED[name]
    now = inspect.getsource(upstream(name))
    diff = "".join(
        difflib.unified_diff(
            textwrap.dedent(copied).strip().splitlines(keepends=True),
            textwrap.dedent(now).strip().splitlines(keepends=True),
            fromfile=f"as copied ({WRITTEN_AGAINST})",
            tofile=f"installed ({installed()})",
        )
    )
    unchanged = _code(now) == _code(copied)
    assert unchanged, f"{name} is no longer the body ours copied. {recheck}\n\n{diff}"
