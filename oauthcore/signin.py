"""Sign-in protection and the sign-in audit trail, for every login form (``/login`` and the admin's).

* Per address: every attempt from one IP address counts (``RATE_LIMITS["login_address"]``).
* Per account: failed attempts count per (name typed, address) and, when the name finds an
  account, per (account, address) too; at the limit (``RATE_LIMITS["login_failures"]``) the pair
  is locked out for the limit's period. Either lockout refuses the attempt.

A lockout never locks a person out for good: it expires after one period, attempts during it
are refused without being counted (hammering does not extend it), and it only applies to the
address the failures came from, so an attacker elsewhere cannot lock the owner out at all.

Every name is counted, whether or not such an account exists, so answers, lockouts included, are
the same for unknown names and real ones. The account's own count is what stops one attacker from
getting the allowance once per name of the account: its username, its email address, and every
spelling of that address the database matches case-insensitively ("ÄLICE@…" and "älice@…", or a
dotless i, U+0131, that PostgreSQL's ``UPPER`` turns into "I"). Names are folded (``fold_name``) at least
as far as that match, so the case variants of an unknown name share one count as well.

The authentication backend calls ``admit`` before checking a password; Django's
``user_login_failed`` and ``user_logged_in`` signals count, reset and audit
(``on_login_failed``/``on_logged_in``, connected in ``OAuthCoreConfig.ready``). ``throttled_login``
wraps the login views so that a refused attempt is answered 429 with ``Retry-After``.
"""

from dataclasses import dataclass
from functools import wraps

from django.forms.utils import ErrorDict

from oauthcore.audit import Actor, record_event
from oauthcore.throttle import LOGIN_ADDRESS, LOGIN_LOCKOUT, client_address, retry_message

ATTEMPT_ATTRIBUTE = "_portcullis_signin"


def fold_name(name: str) -> str:
    """A typed name, folded so that names the database's case-insensitive email match treats as
    one (``UPPER`` on PostgreSQL, which maps the dotless i and the long s, U+0131 and U+017F, to
    "I" and "S") are one here too; full case folding on top also joins the spellings Python folds
    further ("ß" and "ss")."""
    return str(name).strip().upper().casefold()


@dataclass
class SignInAttempt:
    name: str
    address: str
    user_id: int | None
    refused_for: int = 0  # seconds; non-zero when the attempt was refused without checking the password

    @property
    def lockout_keys(self) -> list[str]:
        """The name's key, and the account's when the name found one: every name of an account
        spends the account's one allowance."""
        keys = [f"name:{self.name}|{self.address}"]
        if self.user_id is not None:
            keys.append(f"account:{self.user_id}|{self.address}")
        return keys


def admit(request, username: str, user) -> bool:
    """Whether this attempt may check a password. Refusals are remembered on the request."""
    attempt = SignInAttempt(
        name=fold_name(username), address=client_address(request), user_id=getattr(user, "pk", None)
    )
    setattr(request, ATTEMPT_ATTRIBUTE, attempt)
    verdict = LOGIN_ADDRESS.hit(attempt.address)
    if not verdict:
        attempt.refused_for = verdict.retry_after
        return False
    attempt.refused_for = max(LOGIN_LOCKOUT.locked_for(key) for key in attempt.lockout_keys)
    return not attempt.refused_for


def _attempt(request) -> SignInAttempt | None:
    return getattr(request, ATTEMPT_ATTRIBUTE, None) if request is not None else None


def _target(attempt: SignInAttempt):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=attempt.user_id).first() if attempt.user_id else None


def on_login_failed(sender, credentials, request=None, **kwargs):
    attempt = _attempt(request)
    if attempt is None or attempt.refused_for:
        return  # not a password check (or already refused and not counted)
    target = _target(attempt)
    record_event(
        actor=Actor.system("sign-in"),
        action="user.login_failed",
        target=target,
        reason="Wrong password." if target is not None else "No such account.",
        data={"address": attempt.address},
    )
    locked = max([LOGIN_LOCKOUT.failure(key) for key in attempt.lockout_keys])
    if locked:
        attempt.refused_for = locked
        record_event(
            actor=Actor.system("sign-in"),
            action="user.lockout",
            target=target,
            reason=f"Too many failed sign-ins from {attempt.address}: locked out for {locked} seconds.",
            data={"address": attempt.address, "seconds": locked},
        )


def forget_failures(request) -> None:
    """The password was right, and the login waits for a second factor: the failures before it are
    forgotten now, as ``on_logged_in`` would (the ``login()`` comes in a later request)."""
    attempt = _attempt(request)
    if attempt is not None:
        for key in attempt.lockout_keys:
            LOGIN_LOCKOUT.success(key)


def on_logged_in(sender, request=None, user=None, **kwargs):
    attempt = _attempt(request)
    if attempt is not None:
        for key in attempt.lockout_keys:
            LOGIN_LOCKOUT.success(key)
    address = attempt.address if attempt is not None else (client_address(request) if request is not None else "")
    record_event(actor=Actor.user(user), action="user.login", target=user, data={"address": address})


def throttled_login(view):
    """Wrap a login view: a refused attempt is answered 429 with ``Retry-After`` and says why."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        attempt = _attempt(request)
        if attempt is None or not attempt.refused_for:
            return response
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None:  # the form's "wrong password" would be misleading: say why instead
            form._errors = ErrorDict()
            form.add_error(None, retry_message(attempt.refused_for))
        response.status_code = 429
        response["Retry-After"] = str(attempt.refused_for)
        return response

    return wrapped
