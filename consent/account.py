"""``/account/``: an end user's own account. The hub (profile, apps, security), changing the password
or the email address, and deleting the account. Each change is a service of oauthcore's
(``user_password_set``, ``email_change_request``, ``user_delete``): audited, and ending what it
must (other sessions, tokens, consents) in its transaction.
"""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from consent.forms import AccountDeleteForm, EmailChangeForm, PasswordChangeForm
from consent.models import UserGrant
from consent.signals import deletion_refusals
from oauthcore.audit import Actor
from oauthcore.constants import ConnectionStrategy
from oauthcore.services.account_links import email_change_request
from oauthcore.services.users import user_delete, user_password_set
from oauthcore.throttle import LOGIN_LOCKOUT, retry_message
from oauthcore.views.account_links import email_rate_check
from portal.platform.csp import decision_page

STAFF_STAYS = "A staff account is removed by another administrator, not from here."


def _password_guesses_key(user) -> str:
    """Wrong current passwords count per account, with the sign-in's failure limit: a session left
    open must not become a way to guess the password it would take to change or delete the account."""
    return f"account-password:{user.pk}"


def _confirmed(form, user) -> tuple[bool, int]:
    """(the form is valid, seconds the account's password checks stay locked): a wrong current
    password is a failure, a right one forgets the failures (an empty one is neither); while locked
    nothing is checked."""
    key = _password_guesses_key(user)
    locked = LOGIN_LOCKOUT.locked_for(key)
    if locked:
        return False, locked
    if form.is_valid():
        LOGIN_LOCKOUT.success(key)
        return True, 0
    checked = next((name for name in ("old_password", "password") if name in form.fields), None)
    if checked is None:  # confirmed otherwise (an enterprise connection's user types their address)
        return False, 0
    if form.has_error(checked, "password_incorrect"):
        return False, LOGIN_LOCKOUT.failure(key)
    if checked in form.cleaned_data:  # the right password, with another field to correct
        LOGIN_LOCKOUT.success(key)
    return False, 0


def _has_local_password(user) -> bool:
    """Whether this server keeps the user's password: only a database connection's users have one."""
    return user.connection.strategy == ConnectionStrategy.DATABASE


@never_cache
@decision_page
@login_required
def hub(request):
    user = request.user
    context = {
        "local_password": _has_local_password(user),
        "connection": user.connection,
        "apps": UserGrant.objects.filter(user=user).values("client").distinct().count(),
    }
    return render(request, "consent/account.html", context)


@never_cache
@decision_page
@login_required
@require_http_methods(["GET", "POST"])
def password(request):
    user = request.user
    if not _has_local_password(user):
        return render(request, "consent/password_federated.html", {"connection": user.connection})
    form = PasswordChangeForm(user, request.POST or None)
    valid, locked = _confirmed(form, user) if request.method == "POST" else (False, 0)
    if locked:
        return _locked(request, "consent/password_change.html", PasswordChangeForm(user), locked)
    if valid:
        try:
            user_password_set(actor=Actor.user(user), user=user, password=form.cleaned_data["new_password1"])
        except ValidationError as exc:  # the service's own check, should it refuse what the form let by
            form.add_error("new_password1", exc)
        else:
            update_session_auth_hash(request, user)  # this session stays; every other one has ended
            messages.success(
                request, "Your password was changed. Your other sessions and the apps' sign-ins have ended."
            )
            return redirect("account")
    return render(request, "consent/password_change.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
@decision_page
@login_required
@require_http_methods(["GET", "POST"])
def delete(request):
    user = request.user
    if user.is_staff or user.is_superuser:
        return render(request, "consent/account_delete.html", {"refusals": [STAFF_STAYS]}, status=403)
    refusals = deletion_refusals(user)
    if refusals:
        return render(request, "consent/account_delete.html", {"refusals": refusals}, status=409)
    has_password = _has_local_password(user) and user.has_usable_password()
    form = AccountDeleteForm(user, request.POST or None, has_password=has_password)
    valid, locked = _confirmed(form, user) if request.method == "POST" else (False, 0)
    if locked:
        empty = AccountDeleteForm(user, has_password=has_password)
        return _locked(request, "consent/account_delete.html", empty, locked)
    if valid:
        user_delete(actor=Actor.user(user), user=user)
        logout(request)
        return render(request, "consent/account_deleted.html")
    apps = UserGrant.objects.filter(user=user).values("client").distinct().count()
    context = {"form": form, "apps": apps}
    return render(request, "consent/account_delete.html", context, status=400 if form.errors else 200)


@never_cache
@decision_page
@login_required
@require_http_methods(["GET", "POST"])
def email(request):
    """A new address is proven before it is the account's: a link goes to it, and the account keeps
    its address until the link is used. The answer is the same whether the address is free or
    another account's (nothing is sent then), so the page tells no one whose address it is."""
    user = request.user
    if not _has_local_password(user):
        return render(request, "consent/email_federated.html", {"connection": user.connection})
    form = EmailChangeForm(user, request.POST or None)
    valid, locked = _confirmed(form, user) if request.method == "POST" else (False, 0)
    if locked:
        return _locked(request, "consent/email_change.html", EmailChangeForm(user), locked)
    if valid:
        new_email = form.cleaned_data["email"]
        if wait := email_rate_check(request, new_email):
            form.add_error(None, retry_message(wait))
            response = render(request, "consent/email_change.html", {"form": form}, status=429)
            response["Retry-After"] = str(wait)
            return response
        email_change_request(actor=Actor.user(user), user=user, email=new_email)
        return render(request, "consent/email_change_sent.html", {"email": new_email})
    return render(request, "consent/email_change.html", {"form": form}, status=400 if form.errors else 200)


def _locked(request, template: str, form, seconds: int):
    """The page again, empty, saying when the account's password may be tried again (429, with
    ``Retry-After``)."""
    response = render(request, template, {"form": form, "locked": retry_message(seconds)}, status=429)
    response["Retry-After"] = str(seconds)
    return response
