"""Getting in: the landing page, sign-up, email confirmation and invitations."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from oauthcore.exceptions import ConflictError
from oauthcore.models import TenantSettings
from oauthcore.views.accounts import LoginView
from portal.partners.forms import (
    ACCOUNT_UNAVAILABLE,
    InvitationSignUpForm,
    PartnerForm,
    SignUpForm,
    apply_service_errors,
)
from portal.partners.models import Role
from portal.partners.selectors import memberships_of
from portal.partners.services.invitations import invitation_accept, invitation_find, invitation_sign_up
from portal.partners.services.signup import (
    partner_register,
    partner_resend_verification,
    partner_sign_up,
    partner_verify_email,
)
from portal.partners.views.access import (
    email_allowed,
    member_actor,
    partner_page,
    portal_page,
    signup_allowed,
)

LOGIN_BACKEND = "oauthcore.backends.UsernameOrEmailBackend"


class PortalLoginView(LoginView):
    """The partner portal's sign-in: the form, sign-in limits and audit of ``/login`` (its view, with
    ``throttled_login`` and the strict CSP), framed as the portal. ``/login`` stays the end user's
    card for OAuth flows."""

    template_name = "portal/login.html"

    def get_default_redirect_url(self):
        return reverse("portal:home")


@portal_page
def password_help(request):
    """How a partner gets a new password today: self-service reset comes with end-user accounts."""
    return render(request, "portal/password_help.html", {"tenant": TenantSettings.load()})


def _tenant_name() -> str:
    return TenantSettings.load().friendly_name


@portal_page
def home(request):
    """Signed-in members go to their partner (or choose one); everyone else sees what the portal is."""
    if request.user.is_authenticated:
        memberships = list(memberships_of(request.user))
        if len(memberships) == 1:
            return redirect("portal:dashboard", memberships[0].partner_id)
        if memberships:
            return render(request, "portal/choose_partner.html", {"memberships": memberships})
    return render(request, "portal/landing.html", {"tenant_name": _tenant_name()})


def _typed(request) -> dict:
    """What the person typed, for a form shown again unchecked (never the password)."""
    return {name: value for name, value in request.POST.items() if name not in ("password", "csrfmiddlewaretoken")}


def _too_many(request, template: str, context: dict, verdict, *, unchecked_form):
    """``unchecked_form``, unbound: a refused attempt learns nothing about the names it tried."""
    context["form"] = unchecked_form
    messages.error(request, f"Too many attempts. Try again in {verdict.retry_after} seconds.")
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


@portal_page
@require_http_methods(["GET", "POST"])
def sign_up(request):
    """A new organization: with a new account, or for the signed-in user."""
    signed_in = request.user.is_authenticated
    form_class = PartnerForm if signed_in else SignUpForm
    form = form_class(request.POST or None)
    context = {"form": form, "signed_in": signed_in, "tenant_name": _tenant_name()}
    if request.method == "POST":
        # Counted before the form is checked: its answers are what an enumeration would harvest.
        verdict = signup_allowed(request)
        if not verdict:
            return _too_many(
                request, "portal/sign_up.html", context, verdict, unchecked_form=form_class(initial=_typed(request))
            )
    if request.method == "POST" and signed_in and not request.user.email:
        form.is_valid()  # the form's own errors in the same answer
        form.add_error(None, "Your account has no email address to confirm. Ask the tenant's admins to add one.")
        return render(request, "portal/sign_up.html", context, status=400)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if signed_in:
                partner = partner_register(user=request.user, name=data["name"], website=data["website"])
            else:
                partner = partner_sign_up(
                    name=data["name"],
                    website=data["website"],
                    username=data["username"],
                    email=data["email"],
                    password=data["password"],
                )
                login(request, partner.memberships.get().user, backend=LOGIN_BACKEND)
        except ConflictError:  # a concurrent sign-up took a name: the same answer as the form's
            form.add_error(None, ACCOUNT_UNAVAILABLE)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect("portal:dashboard", partner.pk)
    return render(request, "portal/sign_up.html", context, status=400 if form.errors else 200)


@portal_page
def verify_email(request, token: str):
    """The emailed confirmation link. Opening it twice is harmless."""
    try:
        partner = partner_verify_email(token=token)
    except ValidationError as error:
        return render(request, "portal/link_problem.html", {"title": "Link not valid", "error": error}, status=400)
    return render(request, "portal/email_verified.html", {"partner": partner})


@partner_page(Role.OWNER, gated=False)
@require_POST
def resend_verification(request):
    partner = request.partner
    if partner.email_verified_at is not None:
        return redirect("portal:dashboard", partner.pk)
    verdict = email_allowed("verify", str(request.user.pk))
    if not verdict:
        messages.error(request, f"Too many emails sent. Try again in {verdict.retry_after} seconds.")
    else:
        partner_resend_verification(actor=member_actor(request), partner=partner, user=request.user)
        messages.success(request, f"We sent a new confirmation link to {request.user.email}.")
    return redirect("portal:dashboard", partner.pk)


@portal_page
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """An emailed invitation: sign up with the invited address, or accept with the signed-in account."""
    try:
        invite = invitation_find(token)
    except ValidationError as error:
        return render(
            request, "portal/link_problem.html", {"title": "Invitation not valid", "error": error}, status=400
        )
    signed_in = request.user.is_authenticated
    form = None if signed_in else InvitationSignUpForm(request.POST or None, email=invite.email)
    context = {
        "invitation": invite,
        "form": form,
        "email_matches": signed_in and request.user.email.lower() == invite.email.lower(),
        "login_url": f"{reverse('portal:login')}?next={request.path}",
        "tenant_name": _tenant_name(),
    }
    if request.method == "POST" and not signed_in:
        verdict = signup_allowed(request)  # a sign-up like the other: counted before the names are checked
        if not verdict:
            unchecked = InvitationSignUpForm(initial=_typed(request), email=invite.email)
            return _too_many(request, "portal/invitation.html", context, verdict, unchecked_form=unchecked)
    if request.method == "POST":
        try:
            if signed_in:
                membership = invitation_accept(token=token, user=request.user)
            elif form.is_valid():
                membership = invitation_sign_up(
                    token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
                )
                login(request, membership.user, backend=LOGIN_BACKEND)
            else:
                return render(request, "portal/invitation.html", context, status=400)
        except ValidationError as error:
            if form is None:
                return render(
                    request, "portal/link_problem.html", {"title": "Cannot accept", "error": error}, status=400
                )
            apply_service_errors(form, error)
            return render(request, "portal/invitation.html", context, status=400)
        messages.success(request, f"Welcome to {membership.partner.name}: you joined as {membership.role}.")
        return redirect("portal:dashboard", membership.partner_id)
    return render(request, "portal/invitation.html", context)
