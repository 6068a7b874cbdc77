"""Asking which organization a user logs in to, for an app that requires one and a request that
names none (the app's ``organization_require_behavior``).

``/login/organization`` asks before login: the user types the organization's name.
``/login/organization/choose`` asks after login: the user picks one of their organizations (for a
third-party app, only those that allow third-party apps). Both send the user back to the waiting
``/authorize`` request with ``organization=<id>`` added, where the access decision checks it like
any organization the app named itself: these pages only choose, they grant nothing.
"""

from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache

from oauthcore.federation.discovery import application_of_next
from oauthcore.models import Organization
from portal.platform.csp import decision_page

PROMPT_TEMPLATE = "oauthcore/organization_prompt.html"
PICKER_TEMPLATE = "oauthcore/organization_picker.html"
NO_REQUEST = "There is no sign-in waiting for an organization. Go back to the app and start again."


def waiting_authorize_url(request) -> str | None:
    """The ``/authorize`` request waiting behind the page (``next``), only if it is one of ours."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
    return next_url if safe and urlsplit(next_url).path == reverse("authorize") else None


def with_organization(next_url: str, organization: Organization) -> str:
    parts = urlsplit(next_url)
    query = QueryDict(parts.query, mutable=True)
    query["organization"] = organization.id
    return urlunsplit(parts._replace(query=query.urlencode()))


def prompt_url(next_url: str, *, after_login: bool) -> str:
    name = "organization-choose" if after_login else "organization-prompt"
    query = QueryDict(mutable=True)
    query["next"] = next_url
    return f"{reverse(name)}?{query.urlencode()}"


class OrganizationNameForm(forms.Form):
    organization = forms.CharField(label="Organization name", max_length=50)

    def clean_organization(self) -> Organization:
        name = self.cleaned_data["organization"].strip().lower()
        organization = Organization.objects.filter(name=name).first()
        if organization is None:
            raise forms.ValidationError("No organization has this name. Check it with your administrator.")
        return organization


def _no_request(request):
    return render(
        request, "oauthcore/authorize_error.html", {"error": "invalid_request", "description": NO_REQUEST}, status=400
    )


@method_decorator([never_cache, decision_page], name="dispatch")
class OrganizationPromptView(View):
    """Before login: which organization (by name)."""

    def get(self, request):
        next_url = waiting_authorize_url(request)
        if next_url is None:
            return _no_request(request)
        return self.page(request, OrganizationNameForm(), next_url)

    def post(self, request):
        next_url = waiting_authorize_url(request)
        if next_url is None:
            return _no_request(request)
        form = OrganizationNameForm(request.POST)
        if not form.is_valid():
            return self.page(request, form, next_url, status=400)
        return redirect(with_organization(next_url, form.cleaned_data["organization"]))

    @staticmethod
    def page(request, form, next_url: str, status: int = 200):
        context = {"form": form, "next": next_url, "application": application_of_next(next_url)}
        return render(request, PROMPT_TEMPLATE, context, status=status)


def organizations_to_pick(user, application) -> list[Organization]:
    """The user's organizations an app may log them in to: for a third-party app, those that allow
    third-party apps (the decision checks the rest once one is picked)."""
    rows = Organization.objects.filter(memberships__user=user).order_by("display_name", "name")
    if application is not None and not application.is_first_party:
        rows = rows.filter(third_party_client_access="allow")
    return list(rows)


@method_decorator([never_cache, decision_page, login_required], name="dispatch")
class OrganizationPickerView(View):
    """After login: one of the user's organizations."""

    def get(self, request):
        next_url = waiting_authorize_url(request)
        if next_url is None:
            return _no_request(request)
        application = application_of_next(next_url)
        choices = organizations_to_pick(request.user, application)
        context = {"organizations": choices, "next": next_url, "application": application}
        return render(request, PICKER_TEMPLATE, context)

    def post(self, request):
        next_url = waiting_authorize_url(request)
        if next_url is None:
            return _no_request(request)
        choices = {org.id: org for org in organizations_to_pick(request.user, application_of_next(next_url))}
        chosen = choices.get(request.POST.get("organization", ""))
        if chosen is None:  # not one of theirs: the list again, never a hint about others
            return self.get(request)
        return redirect(with_organization(next_url, chosen))
