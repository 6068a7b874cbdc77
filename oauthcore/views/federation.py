"""Signing in through an enterprise connection: out to the customer's identity provider and back.

``/login/connection/<name>`` starts (from a login-page button, home-realm discovery, or
``/authorize?connection=…``); ``/login/callback`` is the one address providers send the browser
back to (OpenID Connect's redirect URI, SAML's assertion consumer service with ``?connection=``);
``/samlp/metadata?connection=…`` is what a SAML provider is configured from. Whatever goes wrong
is shown on our own page: never a 500, and never a redirect to an application.
"""

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from oauthcore.constants import ENTERPRISE_STRATEGIES, ConnectionStrategy
from oauthcore.federation import flow
from oauthcore.federation.base import FederatedProfile, FederationError
from oauthcore.federation.discovery import application_of_next, connection_open_to
from oauthcore.mfa_login import next_asks_mfa, remember_methods, second_step
from oauthcore.models import Connection, FederationFlow
from oauthcore.services.federated_users import federated_user_sign_in
from oauthcore.throttle import LOGIN_ADDRESS, client_address, retry_message
from oauthcore.views.connection_setup import show_setup_result
from oauthcore.views.mfa import begin_second_step
from portal.platform.csp import decision_page

ERROR_TEMPLATE = "oauthcore/federation_error.html"
TEST_TEMPLATE = "oauthcore/federation_test.html"
BLOCKED = "This account is blocked. Ask the administrator of the application."
NOT_FOUND = "There is no such connection."


def safe_next(request, next_url: str) -> str:
    """Where to go after signing in: a path on this site only, else the account page."""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return settings.LOGIN_REDIRECT_URL


def error_page(request, error: FederationError, connection: Connection | None = None, *, status: int | None = None):
    status = status or (502 if error.reason.startswith("upstream_") else 400)
    context = {"message": error.message, "connection": connection, "reason": error.reason}
    return render(request, ERROR_TEMPLATE, context, status=status)


def enterprise_connection(name: str) -> Connection:
    connection = Connection.objects.filter(name=name, strategy__in=ENTERPRISE_STRATEGIES).first()
    if connection is None:
        raise FederationError(NOT_FOUND, reason="unknown_connection")
    return connection


@method_decorator([never_cache, decision_page], name="dispatch")
class StartView(View):
    """Each start keeps a flow row and sends a request to the provider: it counts as a sign-in
    attempt from its address (``RATE_LIMITS["login_address"]``), like a password typed at /login."""

    def get(self, request, name: str):
        connection = None
        verdict = LOGIN_ADDRESS.hit(client_address(request))
        if not verdict:
            error = FederationError(retry_message(verdict.retry_after), reason="rate_limited")
            response = error_page(request, error, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        try:
            connection = enterprise_connection(name)
            next_url = safe_next(request, request.GET.get("next", ""))
            application = application_of_next(next_url)
            if not connection.is_enabled:  # a connection still being set up (no app to name then)
                raise FederationError("This connection is not enabled.", reason="connection_disabled")
            if not connection_open_to(connection, application):
                raise FederationError(
                    f"{application.name} cannot sign users in through {connection.label}.",
                    reason="connection_not_open",
                )
            return flow.start(request, connection, next_url=next_url)
        except FederationError as error:
            return error_page(request, error, connection)


def sign_in(request, federation: FederationFlow, profile: FederatedProfile):
    """A ``login`` flow: the user, created or updated, signed in and sent on."""
    if not federation.connection.is_enabled:
        raise FederationError("This connection is not enabled.", reason="connection_disabled")
    user = federated_user_sign_in(connection=federation.connection, profile=profile)
    if not user.is_active:
        raise FederationError(BLOCKED, reason="blocked")
    next_url = safe_next(request, federation.next_url)
    # A second factor enrolled here is asked for after the provider's login too (the provider's own
    # methods are not known: the session's amr has only what this server checked).
    step = second_step(user, acr_mfa=next_asks_mfa(next_url))
    if step is not None:
        user.backend = settings.AUTHENTICATION_BACKENDS[0]
        return begin_second_step(request, user, next_url=next_url, step=step, methods=[])
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    remember_methods(request, [])
    return HttpResponseRedirect(next_url)


def show_test_result(request, federation: FederationFlow, profile: FederatedProfile):
    """A ``test`` flow (the admin's *Test connection*): what the provider sent and how it maps,
    to the staff member who started it; nobody is signed in or created."""
    if not request.user.has_perm("oauthcore.change_connection"):
        raise FederationError("Only an administrator can see a test sign-in's result.", reason="not_staff")
    context = {"connection": federation.connection, "profile": profile, "next_url": federation.next_url}
    return render(request, TEST_TEMPLATE, context)


# What a completed flow leads to, by its purpose ("setup": a setup link's test, oauthcore.views.connection_setup).
PURPOSES = {"login": sign_in, "test": show_test_result, "setup": show_setup_result}


@method_decorator([never_cache, decision_page, csrf_exempt], name="dispatch")
class CallbackView(View):
    """The provider's answer. A POST (SAML) is verified and then taken up by a same-site GET."""

    def get(self, request):
        federation = None
        try:
            if "resume" in request.GET:
                federation, profile = flow.resume(request, state=request.GET["resume"])
            else:
                federation, profile = flow.finish(request, state=request.GET.get("state", ""))
            return PURPOSES[federation.purpose](request, federation, profile)
        except FederationError as error:
            return error_page(request, error, federation.connection if federation is not None else None)

    def post(self, request):
        name = request.GET.get("connection", "")
        try:
            state = flow.verify_posted(request, state=request.POST.get("RelayState", ""), connection_name=name)
        except FederationError as error:
            return error_page(request, error, Connection.objects.filter(name=name).first())
        return HttpResponseRedirect(f"{request.path}?resume={state}", status=303)


@never_cache
def saml_metadata(request):
    """The service-provider metadata a customer's SAML provider is configured from."""
    from oauthcore.federation.saml import sp_metadata

    name = request.GET.get("connection", "")
    connection = Connection.objects.filter(name=name, strategy=ConnectionStrategy.SAML).first()
    if connection is None:
        return HttpResponse(f"No SAML connection is named {name!r}.\n", status=404, content_type="text/plain")
    response = HttpResponse(sp_metadata(connection), content_type="application/samlmetadata+xml")
    if "download" in request.GET:
        response["Content-Disposition"] = f'attachment; filename="{connection.name}-sp-metadata.xml"'
    return response
