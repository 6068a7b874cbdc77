"""``/account/``: an end user's own account. The hub (profile, apps, security), changing the password
and deleting the account. Each change is a service of oauthcore's (``user_password_set``,
``user_delete``): audited, and ending what it must (other sessions, tokens, consents) in its
transaction.
"""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from consent.forms import AccountDeleteForm, PasswordChangeForm
from consent.models import UserGrant
from oauthcore.audit import Actor
from oauthcore.constants import ConnectionStrategy
from oauthcore.services.users import user_delete, user_password_set
from portal.platform.csp import decision_page

STAFF_STAYS = "A staff account is removed by another administrator, not from here."


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
    if request.method == "POST" and form.is_valid():
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
        return render(request, "consent/account_delete.html", {"refused": STAFF_STAYS}, status=403)
    form = AccountDeleteForm(
        user, request.POST or None, has_password=_has_local_password(user) and user.has_usable_password()
    )
    if request.method == "POST" and form.is_valid():
        user_delete(actor=Actor.user(user), user=user)
        logout(request)
        return render(request, "consent/account_deleted.html")
    apps = UserGrant.objects.filter(user=user).values("client").distinct().count()
    context = {"form": form, "apps": apps}
    return render(request, "consent/account_delete.html", context, status=400 if form.errors else 200)
