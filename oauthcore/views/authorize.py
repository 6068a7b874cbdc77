"""``/authorize``: validate, log the user in, decide, ask for consent, answer with a code or an error.

oauthlib validates the request (client, exact redirect URI, response type, PKCE) and the
validator applies the policy without knowing the user yet. Once the user is known, the same
``decide`` runs again with what only the user brings: their connection, their stored consent
and ``prompt``. Errors follow the app's redirection policy (``Rule.AUTHORIZE_ERRORS``): with open redirect
protection they are shown on our own page; an unregistered redirect URI is never redirected to.
Only the code flow is served, answered in the query or the fragment (``response_mode``); request
objects and the ``registration`` parameter are refused, not ignored (OpenID Connect Core §6, §7.2.1).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors

from oauthcore.access_tokens import userinfo_audience
from oauthcore.conf import portcullis_settings
from oauthcore.consents import ACCOUNT_TITLE, consent_store
from oauthcore.constants import OrganizationRequireBehavior, OrganizationUsage, RedirectionPolicy
from oauthcore.federation.discovery import connection_open_to, start_url
from oauthcore.mfa_login import acr_asks_mfa, mfa_required, session_methods, used_second_factor
from oauthcore.models import Application, Connection, ResourceServerScope
from oauthcore.policy import Decision, Flow
from oauthcore.policy_cache import cached_mfa_policy
from oauthcore.request_context import CONTEXT_ATTRIBUTE, OAuthRequestContext, context_of
from oauthcore.selectors import app_is_unverified
from oauthcore.services.organizations import organization_member_join
from oauthcore.validator import audit_denial
from oauthcore.views.mfa import second_step_url
from oauthcore.views.organizations import prompt_url
from portal.platform.csp import decision_page

ERROR_TEMPLATE = "oauthcore/authorize_error.html"
# The user's own Decline, where it is shown here: what happened and where to go, not an error.
DECLINED_TEMPLATE = "oauthcore/authorize_declined.html"
UNREADABLE = errors.InvalidRequestError(description="The authorization request could not be read.")
CONSENT_TEMPLATE = "oauthcore/consent.html"
DECLINED = "The user declined to authorize the application."
# prompt=none when the login still needs a second factor (OpenID Connect Core §3.1.2.6).
MFA_REQUIRED = "Multifactor authentication required"
# OAuth 2.0 Multiple Response Type Encoding Practices §2.1. form_post is not served: it is refused,
# not silently answered in the query.
RESPONSE_MODES = ("query", "fragment")
# OpenID Connect Core §6.1, §6.2 and §7.2.1: a parameter the server does not support is refused
# with its own error code, never ignored (the client would think its request object applied).
UNSUPPORTED_PARAMETERS = {
    "request": ("request_not_supported", "Request objects (the request parameter) are not supported."),
    "request_uri": ("request_uri_not_supported", "The request_uri parameter is not supported."),
    "registration": ("registration_not_supported", "The registration parameter is not supported."),
}


def callback_redirect(location: str, redirect_uri: str) -> OAuth2ResponseRedirect:
    """A redirect to the app's callback, allowed for exactly the scheme of the validated, registered
    ``redirect_uri``: Django's HttpResponseRedirect refuses a native app's private-use scheme
    (``com.example.app:/cb``, RFC 8252 §7.1) with a 400."""
    return OAuth2ResponseRedirect(location, allowed_schemes=[urlsplit(redirect_uri).scheme])


def url_without(request, *names: str, prompt: str | None = None) -> str:
    """The request's path and query without ``names``, and without ``prompt``'s value ``prompt``."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    if prompt and "prompt" in query:
        remaining = [value for value in query["prompt"].split() if value != prompt]
        if remaining:
            query["prompt"] = " ".join(remaining)
        else:
            query.pop("prompt")
    return f"{request.path}?{query.urlencode()}"


def callback_host(redirect_uri: str) -> str:
    """The host the code goes to, as the user should read it: in ASCII (IDNA), so that a look-alike
    Unicode name cannot pass for another; a native app's private-use scheme has no host but its scheme."""
    parts = urlsplit(redirect_uri)
    if not parts.hostname:
        return f"{parts.scheme}:"
    try:
        return parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:  # not a name IDNA can encode: shown escaped, never as look-alike letters
        return parts.hostname.encode("ascii", "backslashreplace").decode("ascii")


def consent_context(
    request,
    application: Application,
    *,
    audience,
    to_consent,
    already_granted,
    form_action: str,
    hidden=(),
    redirect_uri: str = "",
) -> dict:
    """The consent screen's context (``/authorize`` and ``/activate`` alike): the permissions asked
    for, grouped: the API's scopes, then those about the user's account; whether the app is
    unverified (its name is only its own claim, and its logo is not shown); and the host of the
    validated ``redirect_uri`` the code will go to (none in the device flow: the device polls)."""
    rows = ResourceServerScope.objects.filter(resource_server__identifier=audience, value__in=to_consent).values_list(
        "value", "description", "resource_server__name"
    )
    api_scopes = {value: (description or value) for value, description, _name in rows}
    groups = []
    if api_scopes:
        groups.append(
            {
                "title": rows[0][2],
                "identifier": audience,
                "permissions": [{"value": v, "description": api_scopes[v]} for v in sorted(api_scopes)],
            }
        )
    account = sorted(set(to_consent) - set(api_scopes))
    if account:
        groups.append(
            {
                "title": ACCOUNT_TITLE,
                "identifier": "",
                "permissions": [{"value": v, "description": oauth2_settings.SCOPES.get(v, v)} for v in account],
            }
        )
    # The owner of a partner's app, linked by the partner app; the tenant's own apps have no link.
    link = getattr(application, "partner_link", None)
    return {
        "application": application,
        "partner": link.partner if link is not None else None,
        "unverified": app_is_unverified(application),
        "callback_host": callback_host(redirect_uri) if redirect_uri else "",
        "user": request.user,
        "groups": groups,
        "already_granted": sorted(already_granted),
        "form_action": form_action,
        "hidden_fields": list(hidden),
    }


class AuthorizeOAuthLibCore(OAuthLibCore):
    """Authorization request parameters come from the query string only; a consent form's own
    fields (``scope`` checkboxes, ``decision``) must never be read as OAuth parameters."""

    def extract_body(self, request):
        return []


@method_decorator([never_cache, decision_page], name="dispatch")
class AuthorizeView(OAuthLibMixin, View):
    oauthlib_backend_class = AuthorizeOAuthLibCore

    def get(self, request):
        return self.handle(request)

    def post(self, request):
        return self.handle(request, answer=request.POST.get("decision"))

    # -- the flow -------------------------------------------------------------------------------

    def handle(self, request, answer: str | None = None):
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except FatalClientError as error:
            return self.error_page(request, error.oauthlib_error, None)
        except OAuthToolkitError as error:
            return self.error(request, error.oauthlib_error, self.application_of(error.oauthlib_error))
        except ValueError:  # oauthlib cannot decode the query string (bad percent-escapes, bad UTF-8)
            return self.error_page(request, UNREADABLE, None)
        oauthlib_request = credentials.pop("request")
        application = oauthlib_request.client
        refusal = self.unsupported(request, oauthlib_request)
        if refusal is not None:
            return self.error(request, refusal, application)
        prompt = frozenset((request.GET.get("prompt") or "").split())
        connection, refusal = self.requested_connection(request, oauthlib_request)
        if refusal is not None:
            return self.error(request, refusal, application)
        organization_prompt = self.organization_prompt(application, named=bool(request.GET.get("organization")))
        if organization_prompt == OrganizationRequireBehavior.PRE_LOGIN_PROMPT and "none" not in prompt:
            return redirect(prompt_url(request.get_full_path(), after_login=False))
        if self.login_needed(request, prompt, answering=answer is not None, connection=connection):
            if "none" in prompt:
                return self.error(request, errors.LoginRequired(request=oauthlib_request), application)
            # Back here after logging in, without what asked for it (or it would ask forever).
            back = url_without(request, "max_age", prompt="login")
            if connection is not None and connection.is_enterprise:
                return redirect(start_url(connection, back))
            return redirect_to_login(back, settings.LOGIN_URL)

        if self.second_factor_needed(request, application):
            if "none" in prompt:
                required = errors.CustomOAuth2Error(
                    error="interaction_required", description=MFA_REQUIRED, request=oauthlib_request
                )
                return self.error(request, required, application)
            return redirect(second_step_url(request.get_full_path()))

        if organization_prompt == OrganizationRequireBehavior.POST_LOGIN_PROMPT and "none" not in prompt:
            return redirect(prompt_url(request.get_full_path(), after_login=True))

        context = context_of(oauthlib_request)
        audience = context.audience or userinfo_audience()
        organization = context.organization
        stored = consent_store().consented_scopes(
            user=request.user, client=application, audience=audience, organization=organization
        )
        # The answer is decided with the same prompt as the screen it answers: with prompt=consent
        # it covers every scope asked for, not only those the stored consent lacks.
        inputs = context.inputs.with_user(user=request.user, consented_scopes=stored, prompt=prompt)
        decision = inputs.decide(Flow.AUTHORIZE)
        if decision.denied:
            audit_denial(decision, application, Flow.AUTHORIZE)
            error = errors.CustomOAuth2Error(
                error=decision.error, description=decision.description, request=oauthlib_request
            )
            # A user of the wrong connection gets an error page, never a redirect (rule 6).
            force_page = decision.reason in ("connection_not_domain_level", "connection_not_enabled")
            return self.error(request, error, application, force_page=force_page)

        # The code (and the tokens) will be for the organization the decision checked.
        credentials[CONTEXT_ATTRIBUTE] = OAuthRequestContext(
            organization=organization, amr=tuple(session_methods(request))
        )
        if answer is not None:
            return self.answer(request, answer, decision, audience, credentials, oauthlib_request)
        if not decision.consent_required:
            return self.approve(request, decision, decision.scopes, credentials, application)
        return self.consent_page(request, application, decision, stored, credentials["redirect_uri"], organization)

    def answer(self, request, answer: str, decision: Decision, audience: str, credentials, oauthlib_request):
        """The user's answer on the consent screen decides, whatever the stored consent says.

        Decline is access_denied even when consent is no longer needed (the form answered twice,
        or in a second tab after another answer); the scopes ticked cap what is issued, and replace
        what the stored consent says of the scopes the screen showed (OpenID Connect Core §3.1.2.4).
        """
        application = oauthlib_request.client
        declined = errors.AccessDeniedError(description=DECLINED, request=oauthlib_request)
        if answer != "accept":
            return self.error(request, declined, application, declined_by_user=True)
        shown = decision.scopes_to_consent
        approved = frozenset(request.POST.getlist("scope")) & shown
        if shown and not approved:  # unticking everything is declining
            return self.error(request, declined, application, declined_by_user=True)
        if shown:
            consent_store().answer(
                user=request.user,
                client=application,
                audience=audience,
                shown=shown,
                approved=approved,
                organization=context_of(oauthlib_request).organization,
            )
        return self.approve(request, decision, (decision.scopes - shown) | approved, credentials, application)

    @staticmethod
    def unsupported(request, oauthlib_request) -> errors.OAuth2Error | None:
        """A parameter this server does not serve, refused rather than ignored (OpenID Connect Core §6,
        §7.2.1; OAuth 2.0 Multiple Response Types §5)."""
        for name, (code, description) in UNSUPPORTED_PARAMETERS.items():
            if name in request.GET:
                return errors.CustomOAuth2Error(error=code, description=description, request=oauthlib_request)
        mode = request.GET.get("response_mode")
        if mode is not None and mode not in RESPONSE_MODES:
            return errors.InvalidRequestError(
                description=f"response_mode {mode!r} is not supported: use {' or '.join(RESPONSE_MODES)}.",
                request=oauthlib_request,
            )
        return None

    @staticmethod
    def organization_prompt(application: Application, *, named: bool) -> str | None:
        """The prompt to show first, when the app requires an organization and the request names
        none (``named``): before login, after login, or None (none needed, or rule 6 refuses)."""
        if named or application.organization_usage != OrganizationUsage.REQUIRE:
            return None
        if application.organization_require_behavior == OrganizationRequireBehavior.NO_PROMPT:
            return None
        return application.organization_require_behavior

    @staticmethod
    def requested_connection(request, oauthlib_request) -> tuple[Connection | None, errors.OAuth2Error | None]:
        """``connection=``: the connection to sign in through, which must exist and be open to the app."""
        name = request.GET.get("connection")
        if not name:
            return None, None
        connection = Connection.objects.filter(name=name).first()
        if connection is None or not connection_open_to(connection, oauthlib_request.client):
            return None, errors.InvalidRequestError(
                description=f"The connection {name} does not exist or is not enabled for this client.",
                request=oauthlib_request,
            )
        return connection, None

    @staticmethod
    def login_needed(request, prompt: frozenset[str], *, answering: bool, connection: Connection | None = None) -> bool:
        """Not logged in, or ``prompt=login``, or a login older than ``max_age`` seconds (OIDC), or
        signed in through another connection than the one ``connection=`` asks for.

        A consent answer comes right after a login the request already asked for.
        """
        if not request.user.is_authenticated:
            return True
        if answering:
            return False
        if "login" in prompt:
            return True
        if connection is not None and request.user.connection_id != connection.pk:
            return True
        max_age = request.GET.get("max_age", "")
        if max_age.isdigit() and request.user.last_login is not None:
            return (timezone.now() - request.user.last_login).total_seconds() > int(max_age)
        return False

    @staticmethod
    def second_factor_needed(request, application: Application) -> bool:
        """The tenant's MFA policy is always, or ``acr_values`` asks for the multi-factor policy, and
        this session's login used no second factor: the user gives one first (``views.mfa``)."""
        required = mfa_required(
            acr_mfa=acr_asks_mfa(request.GET.get("acr_values")), policy=cached_mfa_policy(application)
        )
        return required and not used_second_factor(session_methods(request))

    def approve(self, request, decision: Decision, scopes, credentials, application):
        if decision.join_organization:
            # Rule 6 let the user in as a new member: their connection assigns membership on login.
            organization_member_join(
                organization=credentials[CONTEXT_ATTRIBUTE].organization,
                user=request.user,
                connection=request.user.connection,
            )
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(sorted(scopes)), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error(request, error.oauthlib_error, application)
        return callback_redirect(uri, credentials["redirect_uri"])

    # -- pages and errors -----------------------------------------------------------------------

    def consent_page(
        self, request, application: Application, decision: Decision, stored, redirect_uri: str, organization=None
    ):
        context = consent_context(
            request,
            application,
            audience=decision.audience,
            to_consent=decision.scopes_to_consent,
            already_granted=(stored or frozenset()) & (decision.scopes - decision.scopes_to_consent),
            form_action=request.get_full_path(),
            redirect_uri=redirect_uri,
        )
        context["organization"] = organization
        return render(request, CONSENT_TEMPLATE, context)

    @staticmethod
    def application_of(error) -> Application | None:
        client_id = getattr(error, "client_id", None)
        if not client_id:
            return None
        return Application.objects.filter(client_id=client_id).first()

    def error(
        self,
        request,
        error,
        application: Application | None,
        *,
        force_page: bool = False,
        declined_by_user: bool = False,
    ):
        """Redirect the error to the (validated) callback, or show it here (rule 8): the user's own
        decline (``declined_by_user``) on a page that says so, whatever error the app is told."""
        redirect_uri = getattr(error, "redirect_uri", None)
        protected = application is None or application.redirection_policy != RedirectionPolicy.ALLOW_ALWAYS
        if force_page or protected or not redirect_uri:
            if declined_by_user:
                return self.declined_page(request, error, application)
            return self.error_page(request, error, application)
        # In the component the success would have used: the fragment when response_mode=fragment.
        location = add_params_to_uri(
            redirect_uri,
            [*error.twotuples, ("iss", portcullis_settings.issuer)],
            fragment=request.GET.get("response_mode") == "fragment",
        )
        return callback_redirect(location, redirect_uri)

    @staticmethod
    def declined_page(request, error, application: Application):
        """What the user did and where to go next; still the end of an authorization request that
        failed with ``access_denied`` (its status stays 400, its code is on the page for developers).
        Never a link to the app's callback: with open redirect protection nothing goes there."""
        context = {"error": error.error, "application": application, "unverified": app_is_unverified(application)}
        return render(request, DECLINED_TEMPLATE, context, status=400)

    def error_page(self, request, error, application: Application | None):
        context = {
            "error": getattr(error, "error", "invalid_request"),
            "description": getattr(error, "description", "") or "",
            "application": application,
            "unverified": application is not None and app_is_unverified(application),
        }
        return render(request, ERROR_TEMPLATE, context, status=400 if error.status_code < 500 else 500)
