"""The access simulator and the access matrix: two admin pages over ``oauthcore.selectors``.

Neither page decides anything itself: the simulator calls ``selectors.simulate`` and the matrix
``selectors.access_matrix``, which both build the facts with ``oauthcore.decision_inputs`` and hand
them to ``policy.decide`` (its rules: ``policy.Rule``).

The pages live at ``/admin/oauthcore/simulator/`` and ``/admin/oauthcore/access-matrix/``, outside
any one model's URLs, so they are added in front of the admin site's own URL patterns (before its
catch-all view) by wrapping ``admin.site.get_urls`` once, when this module is imported by the
admin autodiscovery (before the URLconf is loaded).
"""

import re
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse

from oauthcore.decision_inputs import default_audience
from oauthcore.models import Application, ClientGrant, Connection, Organization, ResourceServer
from oauthcore.policy import AudienceSource, Flow, resolve_audience
from oauthcore.selectors import SimulatedRequest, access_matrix, simulate

SIMULATOR_URL_NAME = "oauthcore_simulator"
MATRIX_URL_NAME = "oauthcore_access_matrix"
MATRIX_PAGE_SIZE = 50
MATRIX_CELL_SCOPES = 8  # a cell lists this many effective scopes, the rest as "+N more"
NO_API = ""
MAX_BIGINT = 2**63 - 1
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")

MEMBER, NOT_MEMBER = "member", "not_member"
MEMBERSHIP_CHOICES = [(MEMBER, "A member of the organization"), (NOT_MEMBER, "Not a member (yet)")]

FLOW_LABELS = {
    Flow.AUTHORIZE: "Sign-in at /authorize (up to the consent screen)",
    Flow.AUTHORIZATION_CODE: "Exchanging the authorization code for tokens at /oauth/token",
    Flow.REFRESH_TOKEN: "Refreshing a token",
    Flow.CLIENT_CREDENTIALS: "Client credentials (machine to machine)",
    Flow.DEVICE_CODE: "Device code (a TV or a command line, RFC 8628)",
}


# -- the simulator's form ------------------------------------------------------------------------------------


def _is_application_pk(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and int(text) <= MAX_BIGINT


class ApplicationAutocomplete(AutocompleteSelect):
    """The admin's application autocomplete, which renders a bad id from a shared URL as nothing, not a 500.

    (The stock widget looks the selected value up by id, and a non-numeric id crashes that query.)
    """

    def optgroups(self, name, value, attrs=None):
        return super().optgroups(name, [v for v in value if _is_application_pk(v)], attrs)


def api_choices() -> list[tuple[str, str]]:
    apis = ResourceServer.objects.order_by("-is_system", "name").only("identifier", "name", "is_system")
    return [
        (NO_API, "None (the tenant's default API, else the user's profile only)"),
        *((api.identifier, f"{api.name} ({api.identifier}){' · system' if api.is_system else ''}") for api in apis),
    ]


class SimulatorForm(forms.Form):
    application = forms.ModelChoiceField(
        queryset=Application.objects.all(),
        widget=ApplicationAutocomplete(ClientGrant._meta.get_field("client"), admin.site, attrs={"data-width": "36em"}),
        error_messages={"invalid_choice": "No application with this id."},
    )
    api = forms.ChoiceField(
        label="API",
        required=False,
        help_text="The API the request asks for. “None” is a request that names no API.",
    )
    flow = forms.ChoiceField(choices=[(flow.value, FLOW_LABELS[flow]) for flow in Flow], initial=Flow.AUTHORIZE)
    connection = forms.ModelChoiceField(
        label="User's connection",
        queryset=Connection.objects.order_by("name"),
        required=False,
        empty_label="Not known yet (before the user signs in)",
        help_text="User flows: the connection the user signed in through (rule 6: a third-party app needs a "
        "domain-level one; a first-party app an enterprise one enabled for it).",
        error_messages={"invalid_choice": "No connection with this id."},
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("name"),
        required=False,
        empty_label="None (the request names no organization)",
        help_text="The organization the request names (organization=its id). Rule 6 checks the app's organization "
        "usage, a third-party app's access to the organization, and, with the user's connection, that it is "
        "enabled for the organization and the user a member.",
        error_messages={"invalid_choice": "No organization with this id."},
    )
    membership = forms.ChoiceField(
        label="User's membership",
        choices=MEMBERSHIP_CHOICES,
        required=False,
        initial=MEMBER,
        help_text="With an organization and the user's connection: whether the user is a member of it already "
        "(at /authorize, a connection that assigns membership makes them one).",
    )
    scopes = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Space-separated, e.g. “openid read:things”. Empty: the request has no scope parameter.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["api"].choices = api_choices()
        self.fields["api"].error_messages["invalid_choice"] = "No API with this identifier."

    def clean_scopes(self) -> list[str]:
        scopes = self.cleaned_data["scopes"].split()
        bad = [scope for scope in scopes if not SCOPE_TOKEN.match(scope)]
        if bad:
            raise forms.ValidationError(f"Not a valid scope: {' '.join(bad)}")
        return list(dict.fromkeys(scopes))


# -- helpers shared by both pages ----------------------------------------------------------------------------


def simulator_url(site, *, application, audience: str | None, flow: Flow, scopes=(), organization=None) -> str:
    query = {"application": application.pk, "api": audience or NO_API, "flow": flow.value, "scopes": " ".join(scopes)}
    if organization is not None:
        query["organization"] = organization.pk
    return f"{admin_url(site, SIMULATOR_URL_NAME)}?{urlencode(query)}"


def admin_url(site, name: str, *args) -> str:
    return reverse(f"admin:{name}", args=[quote(arg) for arg in args], current_app=site.name)


def party_label(application: Application) -> str:
    """Who owns the app, in words: "First party", "Third party (strict)"."""
    if application.is_first_party:
        return "First party"
    return f"Third party ({application.get_third_party_security_mode_display().lower()})"


def check_permission(site, request) -> None:
    """Whoever may see the applications' changelist may use both pages."""
    model_admin = site._registry.get(Application)
    if model_admin is None or not model_admin.has_view_permission(request):
        raise PermissionDenied


def page_context(site, request, title: str, **context) -> dict:
    request.current_app = site.name
    return {
        **site.each_context(request),
        "title": title,
        "opts": Application._meta,
        "app_label": Application._meta.app_label,
        "simulator_url": admin_url(site, SIMULATOR_URL_NAME),
        "matrix_url": admin_url(site, MATRIX_URL_NAME),
        **context,
    }


# -- the simulator ---------------------------------------------------------------------------------------------


def run_simulation(site, request, data: dict) -> dict:
    """Decide for the form's cleaned ``data``; returns what the result panel shows."""
    application = data["application"]
    flow = Flow(data["flow"])
    scopes = data["scopes"]
    tenant_default = None
    audience = data["api"] or None
    source = AudienceSource.AUDIENCE
    if audience is None:
        tenant_default = default_audience() or None
        audience, source = resolve_audience(audience=None, resource=None, default_audience=tenant_default)
    decision = simulate(
        SimulatedRequest(
            application=application,
            audience=audience,
            flow=flow,
            scopes=frozenset(scopes),
            scope_given=bool(scopes),
            audience_source=source or AudienceSource.AUDIENCE,
            connection=data.get("connection"),
            organization=data.get("organization"),
            user_is_member=data.get("membership") != NOT_MEMBER,
        )
    )
    api = ResourceServer.objects.filter(identifier=audience).only("user_policy", "client_policy").first()
    grant_url = None
    if decision.grant_id and request.user.has_perm("oauthcore.view_clientgrant"):
        grant_url = admin_url(site, "oauthcore_clientgrant_change", decision.grant_id)
    return {
        "decision": decision,
        "application": application,
        "application_url": admin_url(site, "oauthcore_application_change", application.pk),
        "party": party_label(application),
        "audience": audience,
        "default_audience": tenant_default,
        "api": api,
        "flow_label": FLOW_LABELS[flow],
        "steps": decision.steps,
        "denial": decision.denial,
        "requested": scopes,
        "effective": sorted(decision.scopes),
        "to_consent": sorted(decision.scopes_to_consent),
        "grant_url": grant_url,
        "organization": data.get("organization"),
        "organization_url": organization_url(site, data.get("organization")),
    }


def organization_url(site, organization) -> str | None:
    if organization is None:
        return None
    return admin_url(site, "oauthcore_organization_change", organization.pk)


def simulator_view(request, *, site):
    check_permission(site, request)
    if "flow" in request.GET:  # submitted (a prefilled link without a flow only fills the form in)
        form = SimulatorForm(request.GET)
    else:
        prefilled = ("application", "api", "scopes", "connection", "organization")
        form = SimulatorForm(initial={name: request.GET[name] for name in prefilled if name in request.GET})
    result = run_simulation(site, request, form.cleaned_data) if form.is_bound and form.is_valid() else None
    context = page_context(site, request, "Access simulator", form=form, result=result, media=form.media)
    return TemplateResponse(request, "admin/oauthcore/simulator.html", context)


# -- the access matrix -----------------------------------------------------------------------------------------


def matrix_line(site, decision, *, application, audience: str, flow: Flow, scopes, organization=None) -> dict:
    if decision.allowed:
        effective = sorted(decision.scopes)
        shown = " ".join(effective[:MATRIX_CELL_SCOPES]) or "(no scopes)"
        more = len(effective) - MATRIX_CELL_SCOPES
        text = f"✔ {shown}" + (f" … +{more} more" if more > 0 else "")
        title = " ".join(effective)
    else:
        denial = decision.denial
        text = f"✘ {denial.short if denial else decision.reason}"
        title = denial.sentence if denial else decision.description
    url = simulator_url(
        site, application=application, audience=audience, flow=flow, scopes=sorted(scopes), organization=organization
    )
    return {"allowed": decision.allowed, "text": text, "title": title, "url": url}


def matrix_organization(request) -> tuple[Organization | None, str]:
    """The organization the matrix is filtered by (``?organization=<id>``), and an error when the id
    names none (the matrix is then shown for requests that name no organization)."""
    value = request.GET.get("organization", "").strip()
    if not value:
        return None, ""
    organization = Organization.objects.filter(pk=value[: Organization._meta.get_field("id").max_length]).first()
    return organization, "" if organization is not None else "No organization with this id: the matrix names none."


def matrix_view(request, *, site):
    check_permission(site, request)
    applications = Application.objects.order_by("name", "pk")
    q = request.GET.get("q", "").strip()
    if q:
        applications = applications.filter(Q(name__icontains=q) | Q(client_id__icontains=q))
    third_party_only = request.GET.get("third_party") == "1"
    if third_party_only:
        applications = applications.filter(is_first_party=False)
    organization, organization_error = matrix_organization(request)
    page = Paginator(applications, MATRIX_PAGE_SIZE).get_page(request.GET.get("page"))
    apps, apis, cells = access_matrix(applications=page.object_list, organization=organization)
    api_scopes = {api.pk: frozenset(scope.value for scope in api.scopes.all()) for api in apis}  # prefetched
    rows = []
    for application in apps:
        row_cells = []
        for api in apis:
            cell = cells[(application.pk, api.pk)]
            where = {"application": application, "audience": api.identifier, "organization": organization}
            row_cells.append(
                {
                    "user": matrix_line(site, cell.user, flow=Flow.AUTHORIZE, scopes=api_scopes[api.pk], **where),
                    "client": matrix_line(site, cell.client, flow=Flow.CLIENT_CREDENTIALS, scopes=(), **where),
                }
            )
        rows.append(
            {
                "application": application,
                "url": admin_url(site, "oauthcore_application_change", application.pk),
                "party": party_label(application),
                "cells": row_cells,
            }
        )
    context = page_context(
        site,
        request,
        "Access matrix",
        columns=[{"api": api, "url": admin_url(site, "oauthcore_resourceserver_change", api.pk)} for api in apis],
        rows=rows,
        page=page,
        q=q,
        third_party_only=third_party_only,
        organizations=Organization.objects.order_by("name").only("id", "name", "display_name"),
        organization=organization,
        organization_error=organization_error,
        organization_url=organization_url(site, organization),
    )
    return TemplateResponse(request, "admin/oauthcore/access_matrix.html", context)


# -- hooking into the admin site -------------------------------------------------------------------------------


def get_urls(site) -> list:
    return [
        path("oauthcore/simulator/", site.admin_view(simulator_view), {"site": site}, name=SIMULATOR_URL_NAME),
        path("oauthcore/access-matrix/", site.admin_view(matrix_view), {"site": site}, name=MATRIX_URL_NAME),
    ]


def install(site) -> None:
    """Put the two pages in front of ``site``'s URL patterns (once)."""
    if getattr(site.get_urls, "with_access_pages", False):
        return
    site_urls = site.get_urls

    def get_site_urls():
        return [*get_urls(site), *site_urls()]

    get_site_urls.with_access_pages = True
    site.get_urls = get_site_urls


install(admin.site)
