"""The guided page a customer's IT admin follows from a setup link to connect their identity provider.

They have no account here: the link's token is their only key. The first visit keeps it in their
session and sends them on to ``/connection-setup/``, so the token leaves the address bar (and no
page they go on to sees it in a Referer). The page shows what their provider must be told about
Portcullis, takes their provider's details (the connection is created disabled), sends them through
a test sign-in (a flow with purpose ``setup``, whose result comes back here) and, once that passed,
lets them activate the connection. A link that is unknown (404), expired or used up (410) is said so
on a page of its own.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from oauthcore.conf import portcullis_settings
from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import flow
from oauthcore.federation.base import FederatedProfile, FederationError
from oauthcore.federation.option_forms import (
    initial_options,
    option_fields,
    options_from,
    prepare_secret_fields,
    put_option_errors,
)
from oauthcore.models import Connection, ConnectionSetupLink, FederationFlow, TenantSettings
from oauthcore.services.connection_setup import (
    SetupLinkRefused,
    setup_activate,
    setup_details_save,
    setup_link_find,
    setup_link_open,
    setup_test_passed,
)
from portal.platform.csp import decision_page

SESSION_KEY = "portcullis_connection_setup"
RESULT_KEY = "portcullis_connection_setup_result"
TEMPLATE = "oauthcore/connection_setup.html"
GONE_TEMPLATE = "oauthcore/connection_setup_gone.html"


class SetupDetailsForm(forms.Form):
    display_name = forms.CharField(
        label="Name on the login button", required=False, max_length=128, help_text="Such as: Acme employees."
    )


class ActivateForm(forms.Form):
    domain_level = forms.BooleanField(
        label="Offer it in every application that signs users in here (domain level)", required=False, initial=True
    )


def details_form(link: ConnectionSetupLink, data=None) -> forms.Form:
    form_class = type("SetupDetailsForm", (SetupDetailsForm,), option_fields(link.strategy))
    connection = link.connection
    initial = {}
    if connection is not None:
        initial = {**initial_options(connection), "display_name": connection.display_name}
        initial["domain_aliases"] = link.domain_aliases
    form = form_class(data, initial=initial, prefix="details")
    prepare_secret_fields(form, link.strategy, connection)
    return form


def provider_addresses(link: ConnectionSetupLink) -> list[tuple[str, str]]:
    """What the customer's provider must be told about Portcullis, before the connection exists."""
    if link.strategy == ConnectionStrategy.OIDC:
        return [("Redirect URI (callback URL)", f"{portcullis_settings.issuer}/login/callback")]
    from oauthcore.federation.saml import acs_url, sp_entity_id

    connection = link.connection or Connection(name=link.connection_name, strategy=link.strategy)
    return [
        ("Entity ID (audience)", sp_entity_id(connection)),
        ("Assertion consumer service URL (reply URL)", acs_url(connection)),
    ]


def gone(request, refused: SetupLinkRefused):
    request.session.pop(SESSION_KEY, None)
    return render(request, GONE_TEMPLATE, {"message": refused.message}, status=refused.status)


@method_decorator([never_cache, decision_page], name="dispatch")
class SetupLinkView(View):
    """The link itself: its token kept in the session, then on to the page without it."""

    def get(self, request, token: str):
        try:
            link = setup_link_find(token)
        except SetupLinkRefused as refused:
            return gone(request, refused)
        request.session[SESSION_KEY] = token
        request.session.pop(RESULT_KEY, None)
        setup_link_open(link=link)
        return HttpResponseRedirect(reverse("connection-setup"))


@method_decorator([never_cache, decision_page], name="dispatch")
class SetupView(View):
    def dispatch(self, request, *args, **kwargs):
        self.token = request.session.get(SESSION_KEY, "")
        try:
            self.link = setup_link_find(self.token)
        except SetupLinkRefused as refused:
            return gone(request, refused)
        return super().dispatch(request, *args, **kwargs)

    def page(self, request, *, form=None, error: str = "", status: int = 200):
        link = self.link
        result = request.session.get(RESULT_KEY) if link.tested_at is not None else None
        context = {
            "link": link,
            "connection": link.connection,
            "addresses": provider_addresses(link),
            "form": form or details_form(link),
            "result": result,
            "activate_form": ActivateForm() if link.may_be_domain_level else None,
            "error": error,
            "tenant_name": TenantSettings.load().friendly_name,
        }
        return render(request, TEMPLATE, context, status=status)

    def get(self, request):
        return self.page(request)

    def post(self, request):
        action = request.POST.get("action")
        if action == "save":
            return self.save(request)
        if action == "test":
            return self.test(request)
        if action == "activate":
            return self.activate(request)
        return self.page(request, error="Choose one of the page's buttons.", status=400)

    def save(self, request):
        form = details_form(self.link, request.POST)
        if form.is_valid():
            options = options_from(form.cleaned_data, self.link.strategy, self.link.connection)
            try:
                setup_details_save(token=self.token, display_name=form.cleaned_data["display_name"], options=options)
            except ValidationError as error:
                put_option_errors(form, error)
            except SetupLinkRefused as refused:
                return gone(request, refused)
            else:
                request.session.pop(RESULT_KEY, None)
                return HttpResponseRedirect(reverse("connection-setup") + "#test")
        return self.page(request, form=form, status=400)

    def test(self, request):
        if self.link.connection is None:
            return self.page(request, error="Save your provider's details first.", status=400)
        try:
            return flow.start(request, self.link.connection, purpose="setup", next_url=reverse("connection-setup"))
        except FederationError as error:
            return self.page(request, error=error.message, status=502)

    def activate(self, request):
        form = ActivateForm(request.POST)
        domain_level = bool(self.link.may_be_domain_level and form.is_valid() and form.cleaned_data["domain_level"])
        try:
            connection = setup_activate(token=self.token, domain_level=domain_level)
        except ValidationError as error:
            return self.page(request, error=" ".join(error.messages), status=400)
        except SetupLinkRefused as refused:
            return gone(request, refused)
        request.session.pop(SESSION_KEY, None)
        request.session.pop(RESULT_KEY, None)
        context = {"connection": connection, "tenant_name": TenantSettings.load().friendly_name}
        return render(request, "oauthcore/connection_setup_done.html", context)


def show_setup_result(request, federation: FederationFlow, profile: FederatedProfile):
    """A ``setup`` flow (the setup page's *Test sign-in*): recorded on the link whose token this
    browser holds, and shown on the setup page. Nobody is signed in or created."""
    try:
        setup_test_passed(token=request.session.get(SESSION_KEY, ""), connection=federation.connection, profile=profile)
    except SetupLinkRefused as refused:
        raise FederationError(refused.message, reason="setup_link_refused") from refused
    request.session[RESULT_KEY] = {"subject": profile.subject, "attributes": profile.attributes}
    return HttpResponseRedirect(reverse("connection-setup") + "#activate")
