"""django-oauth-toolkit's validator, with every access question answered by ``policy.decide``.

oauthlib calls these hooks in a fixed order per grant type (docs/architecture.md, "A token
request"): ``validate_grant_type`` first, then ``validate_scopes`` (authorize, client credentials),
``validate_code`` (code exchange) or ``validate_refresh_token`` (refresh). The decision's inputs
come from ``oauthcore.decision_inputs``; each decision is kept in the request's context
(``oauthcore.request_context``) for the later hooks and the token generator (audience, lifetime),
and every denial is written to the audit log with its trace.

Private django-oauth-toolkit methods overridden here, and why:

- ``_check_secret``: a secret replaced by a rotation is still accepted during its grace period;
- ``_authenticate_basic_auth``: a non-ASCII Basic header is a failed authentication, not a 500;
- ``_load_application``: the client is read with the policy stamp in one statement (or by the
  view's own loader, or made from a client ID metadata document);
- ``_save_bearer_token``: no refresh token the policy does not give, none from a refresh token
  revoked meanwhile, and the code used up in the transaction that saves its tokens;
- ``_create_access_token`` and ``_create_refresh_token``: DOT's bodies copied, with the token
  family of an authorization code (so a replayed code revokes what it was exchanged for).

``tests/oauthcore/test_upstream_drift.py`` pins the DOT version of every method overridden or
copied here: a DOT upgrade that changes one fails it, naming what to re-check.
"""

import hashlib
import json
import uuid
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlsplit

from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from oauthcore.access_tokens import mfa_claims, organization_claims, userinfo_audience
from oauthcore.activity import count_denied, count_issued
from oauthcore.audit import DENIAL_ACTION, Actor, record_event
from oauthcore.cimd import cimd_application, is_cimd_client_id
from oauthcore.client_tokens import read_client_token, revoke_client_token
from oauthcore.conf import portcullis_settings
from oauthcore.consents import consent_store
from oauthcore.constants import AppType, MfaPolicy
from oauthcore.decision_inputs import (
    DecisionInputs,
    Target,
    client_facts,
    find_organization,
    grant_organization_facts,
    names_organization,
    organization_facts,
    refresh_inputs,
    request_inputs,
    stored_grant_inputs,
)
from oauthcore.mfa_login import used_second_factor
from oauthcore.models import AccessToken, Application, Grant, PreviousClientSecret, RefreshToken
from oauthcore.policy import AudienceSource, Decision, Flow, decide_grant_type, resolve_audience
from oauthcore.policy_cache import cached_default_audience, cached_mfa_policy, cached_target, client_with_stamp
from oauthcore.request_context import context_of
from oauthcore.services.device import device_grant_poll
from oauthcore.services.tokens import token_family_revoke
from oauthcore.throttle import token_rate_check

ROTATING_APP_TYPES = frozenset({AppType.SPA, AppType.NATIVE})
FLOWS_BY_GRANT_TYPE = {
    "authorization_code": Flow.AUTHORIZATION_CODE,
    "refresh_token": Flow.REFRESH_TOKEN,
    "client_credentials": Flow.CLIENT_CREDENTIALS,
    "urn:ietf:params:oauth:grant-type:device_code": Flow.DEVICE_CODE,
}

# The oauthlib request whose client is being authenticated. DOT hands ``_check_secret`` only the
# stored digest; this tells it whose previous secrets to try (set per call, so per thread).
_authenticating = ContextVar("portcullis_authenticating_request", default=None)


def request_param(request, name: str):
    """A request parameter oauthlib does not know by name (``audience``), or None."""
    try:
        value = getattr(request, name)
    except AttributeError:
        return None
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    return value or None


def requested_resources(request) -> list[str]:
    """Every RFC 8707 ``resource`` value sent, in the query or the body (oauthlib keeps only the last)."""
    values = [value for name, value in parse_qsl(urlsplit(request.uri or "").query) if name == "resource"]
    values += [value for name, value in (getattr(request, "decoded_body", None) or []) if name == "resource"]
    return list(dict.fromkeys(value for value in values if value))


def check_resource(request, bound_audience: str | None) -> None:
    """A token request may repeat the ``resource`` its grant was issued for, and nothing else (RFC 8707 §2.2)."""
    resources = requested_resources(request)
    if resources and resources != [bound_audience or ""]:
        raise errors.CustomOAuth2Error(
            error="invalid_target",
            description=f"The requested resource does not match the authorization grant: {' '.join(resources)}",
            request=request,
        )


def code_family(code: str) -> uuid.UUID:
    """The token family of everything issued from one authorization code, derived from the code,
    so that a replay of the code (after its Grant row is gone) still finds those tokens."""
    return uuid.UUID(hashlib.sha256(b"portcullis code family:" + code.encode()).hexdigest()[:32])


def audit_denial(decision: Decision, client, flow: Flow) -> None:
    """Every refusal, with its reason and the rules it went through, in the audit log; and counted
    for the console's charts (under no API when refused because the API named does not exist)."""
    known_api = decision.audience if decision.reason != "audience_not_found" else None
    count_denied(client_id=client.client_id if client is not None else None, audience=known_api)
    record_event(
        actor=Actor.client(client) if client is not None else Actor.system("anonymous client"),
        action=DENIAL_ACTION,
        target=client,
        reason=decision.description,
        data={
            "flow": str(flow),
            "error": decision.error,
            "reason": decision.reason,
            "audience": decision.audience,
            "trace": list(decision.trace),
        },
    )


class PortcullisError(errors.CustomOAuth2Error):
    """An OAuth error with the status the decision gives it (oauthlib defaults to 400)."""

    def __init__(self, decision: Decision, request):
        super().__init__(
            error=decision.error, description=decision.description, request=request, status_code=decision.status
        )


class PolicyValidator(OAuth2Validator):
    # -- client authentication (token, revocation, introspection) ---------------------------

    def authenticate_client(self, request, *args, **kwargs):
        marker = _authenticating.set(request)
        try:
            return super().authenticate_client(request, *args, **kwargs)
        finally:
            _authenticating.reset(marker)

    def _check_secret(self, provided_secret, stored_secret):
        """The current secret first, at no query. Only when it does not match: the secrets replaced
        by a rotation whose grace period is still running (one indexed query), expiry checked here."""
        if super()._check_secret(provided_secret, stored_secret):
            return True
        request = _authenticating.get()
        client = getattr(request, "client", None)
        if not provided_secret or client is None or client.pk is None:
            return False
        previous = PreviousClientSecret.objects.filter(application_id=client.pk, expires_at__gt=timezone.now())
        for digest in previous.values_list("secret", flat=True):
            if super()._check_secret(provided_secret, digest):
                return True
        return False

    def _authenticate_basic_auth(self, request):
        try:
            return super()._authenticate_basic_auth(request)
        except ValueError:  # non-ASCII in the header: DOT 3.4.1 lets base64 decoding raise (a 500)
            return False

    # -- deciding ---------------------------------------------------------------------------

    def _deny(self, decision: Decision, request, flow: Flow):
        audit_denial(decision, request.client, flow)
        raise PortcullisError(decision, request)

    def _decide(self, request, flow: Flow, inputs: DecisionInputs, target: Target) -> Decision:
        return self.act_on(inputs.decide(flow), request, flow, inputs, target)

    def act_on(self, decision: Decision, request, flow: Flow, inputs: DecisionInputs | None, target) -> Decision:
        """A denial audited and raised as its OAuth error; an allowed decision kept in the
        request's context (scopes, audience, lifetime) for the later hooks and the token."""
        if decision.denied:
            self._deny(decision, request, flow)
        context = context_of(request)
        context.inputs, context.decision = inputs, decision
        request.resource = [decision.audience] if decision.audience else []
        if target.api is not None:
            context.token_lifetime = target.token_lifetime
        return decision

    def _target(self, request, audience: str | None, subject_type: str) -> tuple[Target, AudienceSource | None]:
        """The API the request is for, and how it named it. ``audience`` None: read it from the
        request (then the tenant default); "" means none."""
        if audience is None:
            resources = requested_resources(request)
            if len(resources) > 1:  # one API per token: its ``aud`` is the one resource
                raise errors.CustomOAuth2Error(
                    error="invalid_target", description="Request one resource at a time.", request=request
                )
            asked, resource = request_param(request, "audience"), (resources[0] if resources else None)
            # The tenant default is read only when the request names no API.
            default = None if asked or resource else cached_default_audience(request.client)
            identifier, source = resolve_audience(audience=asked, resource=resource, default_audience=default)
        else:
            identifier, source = resolve_audience(audience=audience, resource=None, default_audience=None)
        # Cached per process, and never stale: see oauthcore.policy_cache.
        return cached_target(application=request.client, audience=identifier, subject_type=subject_type), source

    # -- oauthlib hooks ---------------------------------------------------------------------

    def _load_application(self, client_id, request):
        """DOT's, but the client comes with the policy stamp, in the same statement: the stamp keys
        the cached policy inputs (``oauthcore.policy_cache``). A view may load it its own way
        (the request context's ``load_client``: introspection reads the token in that statement too).
        A client ID metadata document URL stands for the app made from it (when the tenant allows);
        such an app has no stamp, and its policy inputs are read fresh."""
        if is_cimd_client_id(client_id):
            loaded = getattr(request, "client", None)
            if isinstance(loaded, Application) and loaded.external_client_id == client_id:
                return loaded
            application = cimd_application(client_id)
            request.client = application if application is not None and application.is_usable(request) else None
            return request.client
        if not request.client:
            request.client = (context_of(request).load_client or client_with_stamp)(client_id)
            if request.client is None:
                return None  # unknown: DOT would only read the same row again
        return super()._load_application(client_id, request)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # The per-client rate limit: every grant type calls this hook right after the client
        # is authenticated, so a stranger cannot spend another client's allowance.
        token_rate_check(client, request)
        flow = FLOWS_BY_GRANT_TYPE.get(grant_type)
        if flow is None:
            return False
        denial = decide_grant_type(client_facts(client), flow)
        if denial is not None:
            self._deny(denial, request, flow)
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return []  # no scope parameter: the policy decides (the whole ceiling for client credentials)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """The authorize request (GET and consent POST) and client credentials."""
        flow = FLOWS_BY_GRANT_TYPE.get(request.grant_type) or Flow.AUTHORIZE
        if flow is Flow.DEVICE_CODE and request_param(request, "device_code"):
            return self._validate_device_poll(request)
        inputs, target = self.request_decision_inputs(request, flow, scopes)
        decision = self._decide(request, flow, inputs, target)
        request.scopes = sorted(decision.scopes)
        return True

    def request_decision_inputs(self, request, flow: Flow, scopes) -> tuple[DecisionInputs, Target]:
        """What the decision reads for a request that names its API (authorize, client credentials),
        and the organization it names, if any (read only when it names one)."""
        target, source = self._target(request, None, flow.subject_type)
        asked = request_param(request, "organization")
        context = context_of(request)
        organization = context.organization
        # oauthlib validates /authorize again to answer it, with the view's context: the same
        # organization, already read in this HTTP request, is not read twice.
        if not asked:
            organization = None
        elif organization is None or not names_organization(asked, organization):
            organization = find_organization(asked)
        context.organization = organization
        if flow is Flow.CLIENT_CREDENTIALS:
            organization_seen = grant_organization_facts(organization, target.own_grant or target.default_grant)
        else:
            organization_seen = organization_facts(organization)
        inputs = request_inputs(
            client_facts(request.client),
            target,
            scopes=scopes or (),
            scope_given=bool(request.scope),
            source=source,
            parameters=frozenset(name for name, _ in parse_qsl(urlsplit(request.uri).query)),
            code_challenge_method=request.code_challenge_method,
            redirect_uri=request.redirect_uri,
            organization_asked=asked,
            organization=organization_seen,
        )
        return inputs, target

    # -- the authorization code: read once per request --------------------------------------
    # oauthlib asks about the code up to six times per exchange (scopes, the code itself, the PKCE
    # challenge and method, the redirect URI); DOT reads the row for each. Here it is read once,
    # before the client is known (as DOT's get_authorization_code_scopes does), and every answer
    # about it for a client checks that it is that client's code.

    def _code_grant(self, code, request, client=None) -> Grant | None:
        context = context_of(request)
        grant = context.code_grant
        if grant is None or grant.code != code:
            grant = context.code_grant = (
                Grant.objects.select_related("user__connection", "organization").filter(code=code).first()
            )
        if grant is None or (client is not None and grant.application_id != client.pk):
            return None
        return grant

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._code_grant(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_code_challenge(self, code, request):
        grant = self._code_grant(code, request, request.client)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code, request):
        grant = self._code_grant(code, request, request.client)
        return (grant.code_challenge_method or None) if grant is not None else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        grant = self._code_grant(code, request, client)
        if grant is None:
            return False
        if not grant.redirect_uri_allowed(redirect_uri):
            # RFC 6749 §5.2: a code presented with another redirect_uri than the one it was issued
            # for is an invalid grant (oauthlib's own answer, invalid_request, misnames it).
            raise errors.InvalidGrantError(
                description="The redirect_uri does not match the one of the authorization request.", request=request
            )
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """Done already, in the transaction that saved the tokens (``_save_bearer_token``)."""
        if not context_of(request).code_used:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._code_grant(code, request, client)
        if grant is None:
            # Spent already, or never issued: a replayed code revokes what it was exchanged for.
            self._revoke_code_family(client, code)
            return False
        if grant.is_expired():
            return False
        check_resource(request, grant.audience)
        request.user = grant.user
        request.scopes = grant.scope.split()
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        context_of(request).amr = tuple(grant.amr.split())
        # The grant or the policy may have changed since /authorize: decide again.
        self._decide_again(
            request, Flow.AUTHORIZATION_CODE, grant.audience, request.scopes, grant.user, grant.organization
        )
        return True

    @staticmethod
    def _check_user_active(user, request) -> None:
        """A deactivated user's grants are revoked with their account; any that a deactivation made
        some other way left behind (a code, a device authorization, a refresh token) are refused."""
        if not user.is_active:
            raise errors.InvalidGrantError(description="The user's account is deactivated.", request=request)

    def _decide_again(self, request, flow: Flow, audience: str, scopes, user, organization=None) -> None:
        """A user-delegated grant stored earlier (a code, a device authorization), now redeemed."""
        self._check_user_active(user, request)
        target, _source = self._target(request, audience, "user")
        inputs = stored_grant_inputs(
            client_facts(request.client), target, scopes=scopes, user=user, organization=organization
        )
        decision = self._decide(request, flow, inputs, target)
        request.scopes = sorted(decision.scopes)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            self._audit_refresh_token_reuse(refresh_token, client)
            return False
        stored = request.refresh_token_instance
        self._check_user_active(stored.user, request)
        check_resource(request, stored.audience)
        original = frozenset(super().get_original_scopes(refresh_token, request).split())
        target, _source = self._target(request, stored.audience, "user")
        # The organization it was issued for, if any: held to the user's membership there today.
        organization = stored.organization if stored.organization_id else None
        # Read fresh, never cached: a consent taken back stops the refresh at once (rule 7).
        consented = consent_store().consented_scopes(
            user=stored.user,
            client=request.client,
            audience=stored.audience or userinfo_audience(),
            organization=organization,
        )
        # Rule 10: its tokens carry the methods of the login it came from, which the tenant's MFA
        # policy holds it to.
        amr = context_of(request).amr = tuple(stored.amr.split())
        inputs = refresh_inputs(
            client_facts(request.client),
            target,
            scopes=(request.scope or "").split(),
            scope_given=bool(request.scope),
            original_scopes=original,
            consented_scopes=consented,
            organization=organization,
            user=stored.user,
            mfa_required=cached_mfa_policy(request.client) == MfaPolicy.ALWAYS,
            authenticated_with_mfa=used_second_factor(amr),
        )
        self._decide(request, Flow.REFRESH_TOKEN, inputs, target)
        return True

    def _validate_device_poll(self, request):
        """The device polls (RFC 8628 §3.4): its authorization's state, then the policy once more."""
        grant, error = device_grant_poll(device_code=request_param(request, "device_code"), client=request.client)
        if error is not None:
            raise errors.CustomOAuth2Error(error=error.code, description=error.description, request=request)
        check_resource(request, grant.audience)
        request.user = grant.user
        self._decide_again(request, Flow.DEVICE_CODE, grant.audience, grant.scope.split(), grant.user)
        return True

    def rotate_refresh_token(self, request):
        """SPA and native apps hold their refresh tokens where they can leak: those rotate (with reuse
        detection revoking the whole family); confidential web and machine apps keep theirs."""
        return request.client.app_type in ROTATING_APP_TYPES

    def save_bearer_token(self, token, request, *args, **kwargs):
        """DOT saves in a transaction, for refresh tokens saved or rotated along with the access token.
        Client credentials save nothing."""
        if request.grant_type == "client_credentials":
            # Not stored at all: a signed token that carries what checking it needs, withdrawn by
            # revocation and "not before" stamps instead of a deleted row (oauthcore.client_tokens).
            token.pop("refresh_token", None)
            decision = context_of(request).decision
            count_issued(client_id=request.client.client_id, audience=decision.audience if decision else None)
            return None
        try:
            return super().save_bearer_token(token, request, *args, **kwargs)
        except errors.InvalidGrantError:
            if context_of(request).code_replayed:
                # Now that this request's own tokens are rolled back, revoke the ones the code was
                # exchanged for first (in a transaction of its own, so the revocation stays).
                self._revoke_code_family(request.client, request.code)
            raise

    def _save_bearer_token(self, token, request, *args, **kwargs):
        decision = context_of(request).decision
        if decision is not None and not decision.issue_refresh_token:
            # oauthlib always offers one; Rule.SCOPES gives refresh tokens only for offline_access
            # on an API that allows offline access.
            token.pop("refresh_token", None)
        used = getattr(request, "refresh_token_instance", None)
        if used is not None and not RefreshToken.objects.select_for_update().filter(pk=used.pk, revoked=None).exists():
            # Revoked after validate_refresh_token read it (a consent or grant taken back meanwhile).
            # DOT re-reads it under lock without looking at ``revoked`` and would issue a new pair;
            # holding the lock from here keeps a revocation from slipping in before we commit.
            raise errors.InvalidGrantError(description="The refresh token was revoked.", request=request)
        try:
            saved = super()._save_bearer_token(token, request, *args, **kwargs)
        except (RefreshToken.DoesNotExist, AccessToken.DoesNotExist) as exc:
            # The refresh token was revoked (consent or grant taken back, app deleted) between its
            # validation and now: DOT's re-read under lock finds it gone. An error, never a 500.
            raise errors.InvalidGrantError(description="The refresh token was revoked.", request=request) from exc
        if request.grant_type == "authorization_code":
            # The code is used up in the transaction that saves its tokens: of two requests racing
            # with one code, the second waits for the first's row lock, deletes nothing and rolls its
            # tokens back (oauthlib would delete it afterwards, in a transaction of its own). The
            # first request's tokens are revoked too, once this transaction is rolled back
            # (``save_bearer_token``): a code used twice revokes what it was exchanged for.
            deleted, _ = Grant.objects.filter(code=request.code, application=request.client).delete()
            if not deleted:
                context_of(request).code_replayed = True
                raise errors.InvalidGrantError(request=request)
            context_of(request).code_used = True
        # Every stored token is saved here: counted once this transaction commits (in the table,
        # within it, without Redis), so a token rolled back is not counted.
        count_issued(client_id=request.client.client_id, audience=decision.audience if decision else None)
        return saved

    # -- replays: an authorization code used twice, a revoked refresh token used again -------------

    def _revoke_code_family(self, client, code: str) -> None:
        """RFC 6749 §4.1.2: a code used more than once revokes the tokens issued from it."""
        token_family_revoke(
            actor=Actor.client(client),
            application=client,
            family=code_family(code),
            action="authorization_code.replay",
            reason="An authorization code was used more than once: every token issued from it is revoked.",
        )

    def _audit_refresh_token_reuse(self, refresh_token: str, client) -> None:
        """django-oauth-toolkit has revoked the family of a revoked refresh token presented again
        (``REFRESH_TOKEN_REUSE_PROTECTION``); say so in the audit log."""
        checksum = hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
        family = (
            RefreshToken.objects.filter(token_checksum=checksum, application=client, revoked__isnull=False)
            .values_list("token_family", flat=True)
            .first()
        )
        if family is not None:
            record_event(
                actor=Actor.client(client),
                action="refresh_token.reuse",
                target=client,
                reason="A revoked or already rotated refresh token was used: its whole family is revoked.",
                data={"token_family": str(family)},
            )

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7009, scoped to the client by django-oauth-toolkit; a real revocation is audited."""
        client = request.client
        client_token = read_client_token(token)
        if client_token is not None:
            # Not stored: revoked by its jti, and only by its own client (RFC 7009 §2.1); another
            # client's token is answered 200 like an unknown one.
            if client_token.client_id == client.client_id and revoke_client_token(client_token):
                record_event(
                    actor=Actor.client(client),
                    action="token.revoke",
                    target=client,
                    reason="Revoked by the client (RFC 7009).",
                    data={"token_type_hint": token_type_hint or "", "jti": client_token.jti},
                )
            return
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        live = AccessToken.objects.filter(token_checksum=checksum, application=client).exists() or (
            RefreshToken.objects.filter(token_checksum=checksum, application=client, revoked__isnull=True).exists()
        )
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if live:
            record_event(
                actor=Actor.client(client),
                action="token.revoke",
                target=client,
                reason="Revoked by the client (RFC 7009).",
                data={"token_type_hint": token_type_hint or ""},
            )

    # -- token rows: every token of an authorization code shares a family ---------------------------

    @staticmethod
    def _token_family(request, previous_refresh_token=None):
        if previous_refresh_token is not None:
            return previous_refresh_token.token_family
        if request.grant_type == "authorization_code":
            return code_family(request.code)
        return None

    @staticmethod
    def _organization_id(request) -> str | None:
        """The organization the decision issued the tokens for (a code's, a refresh token's)."""
        decision = context_of(request).decision
        return decision.organization.id if decision is not None and decision.organization is not None else None

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        """DOT's, and the code remembers the organization ``/authorize`` decided for and how the user
        authenticated (set by the view in the request's context): one more statement, for
        organization logins and logins with a second factor only."""
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        context = context_of(request)
        remembered = {}
        if context.organization is not None:
            remembered["organization"] = context.organization
        if used_second_factor(context.amr):  # a password-only login's tokens carry no amr: nothing to keep
            remembered["amr"] = " ".join(context.amr)
        if remembered:
            Grant.objects.filter(code=code["code"], application=request.client).update(**remembered)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # django-oauth-toolkit 3.4.1's body, plus token_family (one INSERT, as before).
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
            resource=getattr(request, "resource", []),
            token_family=self._token_family(request, source_refresh_token),
            organization_id=self._organization_id(request),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        # django-oauth-toolkit 3.4.1's body, with the family derived from the code (not random), its
        # organization and the login's amr.
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=self._token_family(request, previous_refresh_token) or uuid.uuid4(),
            resource=getattr(request, "resource", []),
            organization_id=self._organization_id(request),
            amr=" ".join(context_of(request).amr),
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """What the refresh may carry: the original scopes, narrowed to today's ceiling."""
        return sorted(context_of(request).decision.scopes)

    # -- /authorize: what oauthlib asks before the user is known ------------------------------

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        """Only the code flow is served: any other response type (the implicit and hybrid ones
        oauthlib knows included) is unsupported_response_type (RFC 6749 §4.1.2.1), not the
        unauthorized_client oauthlib answers when this hook says no."""
        if response_type != "code":
            raise errors.UnsupportedResponseTypeError(request=request)
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)

    def validate_silent_login(self, request):
        """``prompt=none`` (OpenID Connect Core §3.1.2.6): oauthlib asks here, before the view knows
        the user; ``/authorize`` answers login_required itself once it does (``AuthorizeView.handle``)."""
        return True

    def validate_silent_authorization(self, request):
        """``prompt=none``: consent_required is the policy's answer, once the user's stored consent
        is known (``Rule.CONSENT``)."""
        return True

    # -- OIDC -------------------------------------------------------------------------------

    def get_claim_dict(self, request):
        user = request.user
        return {
            "sub": user.user_id,
            "name": user.get_full_name() or user.get_username(),
            "nickname": user.get_username(),
            "email": user.email,
            # Only proof counts (User.email_verified): an address typed into a sign-up form is a claim.
            "email_verified": bool(user.email) and user.email_verified,
            "updated_at": int(user.date_joined.timestamp()),
            # The ID token of an organization login names it, as its access token does.
            **organization_claims(request),
            # The ID token of a login with a second factor says so: amr (RFC 8176 values and mfa)
            # and acr, the multi-factor policy URI. /userinfo's request carries no login: none there.
            **mfa_claims(request, with_acr=True),
        }

    oidc_claim_scope = {
        "sub": "openid",
        "name": "profile",
        "nickname": "profile",
        "updated_at": "profile",
        "email": "email",
        "email_verified": "email",
        "org_id": "openid",
        "org_name": "openid",
        "amr": "openid",
        "acr": "openid",
    }

    def get_oidc_issuer_endpoint(self, request):
        return portcullis_settings.issuer
