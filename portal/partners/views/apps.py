"""A partner's overview and apps: register, edit, rotate the secret, delete, request access.

Every app is looked up within ``request.partner`` (set by ``partner_page``): another partner's
client id is simply not found.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oauthcore.models import PreviousClientSecret
from oauthcore.services.applications import (
    MAX_PREVIOUS_SECRETS,
    application_delete,
    application_rotate_secret,
    previous_secret_revoke,
)
from portal.partners.catalog import api_catalog
from portal.partners.forms import (
    AccessRequestForm,
    AppCreateForm,
    AppEditForm,
    RotateSecretForm,
    apply_service_errors,
)
from portal.partners.models import RequestStatus
from portal.partners.selectors import (
    app_with_secrets,
    partner_apps,
    partner_organizations,
    partner_requests,
    team,
)
from portal.partners.services.access_requests import access_request_create
from portal.partners.services.apps import partner_app_create, partner_app_update
from portal.partners.views.access import member_actor, partner_context, partner_page

RECENT_REQUESTS = 5


def _app(request, client_id: str):
    application = app_with_secrets(request.partner, client_id, now=timezone.now())
    if application is None:
        raise Http404("No such app.")
    return application


@partner_page()
def dashboard(request):
    partner = request.partner
    apps = list(partner_apps(partner))
    requests = list(partner_requests(partner)[:RECENT_REQUESTS])
    members, invitations = team(partner)
    context = partner_context(
        request,
        tab="overview",
        apps=apps,
        requests=requests,
        member_count=len(members),
        invitation_count=len(invitations),
        pending_count=sum(app.pending_requests for app in apps),
    )
    return render(request, "portal/dashboard.html", context)


@partner_page()
@require_http_methods(["GET", "POST"])
def app_new(request):
    form = AppCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = partner_app_create(
                actor=member_actor(request),
                partner=request.partner,
                app_type=form.cleaned_data["app_type"],
                refresh_tokens=form.cleaned_data["refresh_tokens"],
                **form.service_fields(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            # Shown in this response only: the secret is stored hashed and never shown again.
            application = issued.application
            secret = issued.client_secret if application.is_confidential else None
            context = partner_context(request, tab="overview", app=application, new_secret=secret, created=True)
            return render(request, "portal/app_created.html", context, status=201)
    context = partner_context(request, tab="overview", form=form)
    return render(request, "portal/app_new.html", context, status=400 if form.errors else 200)


def _credentials_context(request, application, *, new_secret=None, rotate_form=None, **context) -> dict:
    """What the credentials panel shows, on the app page and when htmx swaps the panel alone."""
    return partner_context(
        request,
        app=application,
        new_secret=new_secret,
        rotate_form=rotate_form or RotateSecretForm(),
        max_previous=MAX_PREVIOUS_SECRETS,
        **context,
    )


def _app_page(request, application, *, new_secret=None, rotate_form=None, status=200):
    entries = [
        entry
        for entry in api_catalog(application=application)
        if (entry.app_user and entry.app_user.allowed)
        or (entry.app_client and entry.app_client.allowed)
        or entry.pending
    ]
    context = _credentials_context(
        request,
        application,
        new_secret=new_secret,
        rotate_form=rotate_form,
        tab="overview",
        access=entries,
        requests=list(partner_requests(request.partner, application=application)),
    )
    return render(request, "portal/app_detail.html", context, status=status)


@partner_page()
def app_detail(request, client_id: str):
    return _app_page(request, _app(request, client_id))


@partner_page()
@require_http_methods(["GET", "POST"])
def app_edit(request, client_id: str):
    application = _app(request, client_id)
    form = AppEditForm(request.POST or None, initial=AppEditForm.initial_for(application), application=application)
    if request.method == "POST" and form.is_valid():
        try:
            partner_app_update(
                actor=member_actor(request),
                application=application,
                refresh_tokens=form.cleaned_data["refresh_tokens"],
                **form.service_fields(),
            )
        except ValidationError as error:
            application.refresh_from_db()  # the page shows what is stored, not the refused values
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{application.name} saved.")
            return redirect("portal:app", request.partner.pk, application.client_id)
    context = partner_context(request, tab="overview", app=application, form=form)
    return render(request, "portal/app_edit.html", context, status=400 if form.errors else 200)


@partner_page()
@require_POST
def app_rotate(request, client_id: str):
    application = _app(request, client_id)
    if not application.is_confidential:
        raise Http404("Public apps have no secret.")
    form = RotateSecretForm(request.POST)
    if not form.is_valid():
        return _panel_or_page(request, application, rotate_form=form, status=400)
    secret = application_rotate_secret(actor=member_actor(request), application=application, grace=form.grace_period())
    return _panel_or_page(request, _app(request, client_id), new_secret=secret)


def _panel_or_page(request, application, *, new_secret=None, rotate_form=None, status=200):
    """htmx swaps the credentials panel; without JavaScript the whole app page is rendered."""
    if not request.htmx:
        return _app_page(request, application, new_secret=new_secret, rotate_form=rotate_form, status=status)
    context = _credentials_context(request, application, new_secret=new_secret, rotate_form=rotate_form)
    return render(request, "portal/_credentials.html", context, status=status)


@partner_page()
@require_POST
def previous_secret_end(request, client_id: str, secret_id: int):
    application = _app(request, client_id)
    previous = get_object_or_404(PreviousClientSecret, pk=secret_id, application=application)
    previous_secret_revoke(actor=member_actor(request), previous=previous)
    if request.htmx:
        return _panel_or_page(request, _app(request, client_id))
    messages.success(request, f"The previous secret ending in {previous.hint} no longer works.")
    return redirect("portal:app", request.partner.pk, application.client_id)


@partner_page()
@require_http_methods(["GET", "POST"])
def app_delete(request, client_id: str):
    application = _app(request, client_id)
    if request.method == "POST":
        application_delete(actor=member_actor(request), application=application)
        messages.success(request, f"{application.name} is deleted; its tokens no longer work.")
        return redirect("portal:dashboard", request.partner.pk)
    return render(request, "portal/app_delete.html", partner_context(request, tab="overview", app=application))


@partner_page()
@require_http_methods(["GET", "POST"])
def request_access(request, client_id: str):
    application = _app(request, client_id)
    entries = api_catalog(application=application)
    form = AccessRequestForm(
        request.POST or None, application=application, entries=entries, api_id=request.GET.get("api")
    )
    if request.method == "GET" and form.entry is not None:
        form.initial["api"] = form.entry.api.pk
    if request.method == "POST" and form.is_valid():
        try:
            access_request_create(
                actor=member_actor(request),
                partner=request.partner,
                client=application,
                requested_by=request.user,
                **form.request_fields(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Request sent for {form.entry.api.name}. The tenant's admins decide; you get an email either way.",
            )
            return redirect("portal:app", request.partner.pk, application.client_id)
    context = partner_context(request, tab="overview", app=application, form=form, entry=form.entry)
    template = (
        "portal/_request_scopes.html" if request.htmx and request.method == "GET" else "portal/request_access.html"
    )
    return render(request, template, context, status=400 if form.errors else 200)


@partner_page()
def requests_list(request):
    requests = list(partner_requests(request.partner))
    context = partner_context(
        request,
        tab="requests",
        requests=requests,
        pending=[r for r in requests if r.status == RequestStatus.PENDING],
    )
    return render(request, "portal/requests.html", context)


@partner_page()
def catalog(request):
    apps = list(partner_apps(request.partner))
    selected = None
    client_id = request.GET.get("app")
    if client_id:
        selected = next((app for app in apps if app.client_id == client_id), None)
        if selected is None:
            raise Http404("No such app.")
    context = partner_context(
        request, tab="catalog", apps=apps, selected=selected, entries=api_catalog(application=selected)
    )
    template = "portal/_catalog_entries.html" if request.htmx else "portal/catalog.html"
    return render(request, template, context)


@partner_page()
def organizations(request):
    """The organizations that let third-party apps in, and what each of the partner's apps reaches there."""
    context = partner_context(request, tab="organizations", organizations=partner_organizations(request.partner))
    return render(request, "portal/organizations.html", context)
