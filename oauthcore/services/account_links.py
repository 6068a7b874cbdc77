"""End users' one-time links: issued with the email that carries them, redeemed once.

``account_link_issue`` makes a link (the token returned once, its digest kept) and audits it;
``verification_email_send`` and ``password_reset_email_send`` issue one and queue its email (the
tenant's template, ``oauthcore.account_emails``) in the same transaction. Redeeming
(``email_verify_redeem``, ``password_reset_redeem``) locks the link's row, checks it still stands
(not used, not expired, the address or password it was issued for unchanged, the user active),
does what it is for through the user services, and marks it used, in one transaction. Every
refusal of a link that exists is audited; an unknown token finds nothing and says the same as a
forged one.

Links point at the issuer (``portcullis_settings.issuer``), never at the request's Host header.
"""

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from oauthcore import account_emails
from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.constants import ConnectionStrategy
from oauthcore.credentials import link_token_digest
from oauthcore.database_connection import validate_connection_password
from oauthcore.models import AccountLink, AccountLinkPurpose, EmailTemplateName
from oauthcore.outbox import email_queue
from oauthcore.services.users import user_password_set, user_update

NOT_FOUND = "This link is not valid. Ask for a new one."
EXPIRED = "This link has expired. Ask for a new one."
USED = "This link was already used. Ask for a new one if you still need it."
EMAIL_CHANGED = "This link was sent to an address your account no longer has."
PASSWORD_CHANGED = "Your password changed since this link was sent: it no longer works."  # noqa: S105
INACTIVE = "This account is blocked."
VERIFIED_ELSEWHERE = "This email address is already verified on another account. Log in with that account."
EMAIL_TAKEN = "This email address is already verified on another account. Choose another address."
PURPOSE_PATHS = {
    AccountLinkPurpose.VERIFY_EMAIL: "account-verify",
    AccountLinkPurpose.RESET_PASSWORD: "account-reset",
    AccountLinkPurpose.CHANGE_EMAIL: "account-change-email-confirm",
}
PASSWORD_BOUND = frozenset({AccountLinkPurpose.RESET_PASSWORD, AccountLinkPurpose.CHANGE_EMAIL})
PURPOSE_TEMPLATES = {
    AccountLinkPurpose.VERIFY_EMAIL: EmailTemplateName.VERIFY_EMAIL,
    AccountLinkPurpose.RESET_PASSWORD: EmailTemplateName.RESET_EMAIL,
}
MAX_RESET_ACCOUNTS = 5  # accounts one address may get a reset link for at once (unverified claims share one)


class AccountLinkRefused(Exception):
    """A link that cannot be used: ``status`` 404 (no such link), 410 (expired, used, void) or 409."""

    def __init__(self, message: str, *, status: int, link: AccountLink | None = None):
        super().__init__(message)
        self.message, self.status, self.link = message, status, link


@dataclass(frozen=True)
class IssuedAccountLink:
    link: AccountLink
    token: str  # in the URL only; the database keeps its digest

    @property
    def url(self) -> str:
        return link_url(self.link.purpose, self.token)


def link_url(purpose: str, token: str) -> str:
    return portcullis_settings.issuer + reverse(PURPOSE_PATHS[purpose], args=[token])


def password_stamp(user) -> str:
    """Changes whenever the password does (a keyed digest of its hash): a reset link remembers it."""
    return salted_hmac("oauthcore.account_links.password", user.password or "", algorithm="sha256").hexdigest()


def default_lifetime(purpose: str) -> int:
    if purpose in (AccountLinkPurpose.VERIFY_EMAIL, AccountLinkPurpose.CHANGE_EMAIL):
        return portcullis_settings.EMAIL_VERIFICATION_LINK_SECONDS
    return portcullis_settings.PASSWORD_RESET_LINK_SECONDS


def _audit(link: AccountLink, action: str, *, actor: Actor | None = None, reason: str = "", **data):
    record_event(
        actor=actor or Actor.user(link.user),
        action=f"account_link.{action}",
        target=link.user,
        reason=reason,
        data={"link": link.pk, "purpose": link.purpose} | data,
    )


def account_link_issue(
    *,
    actor: Actor,
    user,
    purpose: str,
    application=None,
    result_url: str = "",
    next_url: str = "",
    ttl_seconds: int | None = None,
    mark_email_verified: bool = False,
    include_email_in_redirect: bool = False,
    email: str | None = None,
) -> IssuedAccountLink:
    """A link for ``user`` to verify their address, choose a new password or take ``email`` as
    their new address (the last two for database users only)."""
    if purpose in PASSWORD_BOUND and user.connection.strategy != ConnectionStrategy.DATABASE:
        raise ValidationError({"user_id": "Only users of a database connection have a password here."})
    lifetime = ttl_seconds or default_lifetime(purpose)
    if not 0 < lifetime <= portcullis_settings.ACCOUNT_LINK_MAX_SECONDS:
        raise ValidationError({"ttl_sec": f"Must be from 1 to {portcullis_settings.ACCOUNT_LINK_MAX_SECONDS} seconds."})
    token = secrets.token_urlsafe(32)
    email = user.email if email is None else email
    with transaction.atomic():
        link = AccountLink.objects.create(
            purpose=purpose,
            user=user,
            application=application,
            token_digest=link_token_digest(token),
            email=email,
            password_stamp=password_stamp(user) if purpose in PASSWORD_BOUND else "",
            result_url=result_url,
            next_url=next_url[:4000],
            mark_email_verified=mark_email_verified,
            include_email_in_redirect=include_email_in_redirect,
            expires_at=timezone.now() + timedelta(seconds=lifetime),
        )
        _audit(
            link,
            "issue",
            actor=actor,
            email=email,
            application=application.client_id if application is not None else None,
            expires_at=link.expires_at.isoformat(),
        )
    return IssuedAccountLink(link, token)


account_email_send = account_emails.account_email_send


def _link_email_send(
    *, actor: Actor, user, purpose: str, application=None, next_url: str = ""
) -> IssuedAccountLink | None:
    template = account_emails.template_settings(PURPOSE_TEMPLATES[purpose])
    if not template.enabled:
        return None
    with transaction.atomic():
        issued = account_link_issue(
            actor=actor,
            user=user,
            purpose=purpose,
            application=application,
            next_url=next_url,
            result_url=template.result_url,
            ttl_seconds=template.url_lifetime_in_seconds,
        )
        account_email_send(template=template.name, user=user, application=application, url=issued.url)
    return issued


def verification_email_send(*, actor: Actor, user, application=None, next_url: str = "") -> IssuedAccountLink | None:
    """A verification link for the user's current address, emailed (None: the template is disabled)."""
    return _link_email_send(
        actor=actor, user=user, purpose=AccountLinkPurpose.VERIFY_EMAIL, application=application, next_url=next_url
    )


def password_reset_email_send(*, actor: Actor, user, application=None, next_url: str = "") -> IssuedAccountLink | None:
    return _link_email_send(
        actor=actor, user=user, purpose=AccountLinkPurpose.RESET_PASSWORD, application=application, next_url=next_url
    )


def password_reset_request(*, email: str, application=None, next_url: str = "") -> int:
    """Someone typed ``email`` into the forgot-password form: a reset link to each active database
    account with this address (only the one holding it verified, if one does). Returns how many were
    sent, for the audit and tests; the page never tells."""
    User = get_user_model()
    accounts = list(
        User.objects.select_related("connection")
        .filter(email__iexact=email.strip(), is_active=True, connection__strategy=ConnectionStrategy.DATABASE)
        .exclude(email="")
        .order_by("-email_verified", "id")[:MAX_RESET_ACCOUNTS]
    )
    if accounts and accounts[0].email_verified:
        accounts = [user for user in accounts if user.email_verified]
    actor = Actor.system("password reset request")
    sent = 0
    with transaction.atomic():
        for user in accounts:
            if password_reset_email_send(actor=actor, user=user, application=application, next_url=next_url):
                sent += 1
    return sent


def account_link_find(token: str, *, purpose: str, lock: bool = False) -> AccountLink:
    """The standing link behind ``token``, or ``AccountLinkRefused`` saying why not (audited when
    the link exists). ``lock`` holds its row until the caller's transaction ends."""
    links = AccountLink.objects.select_related("user", "user__connection", "application")
    if lock:
        links = links.select_for_update(of=("self",))
    link = links.filter(token_digest=link_token_digest(token), purpose=purpose).first() if token else None
    if link is None:
        raise AccountLinkRefused(NOT_FOUND, status=404)
    user = link.user
    refusal = None
    if link.used_at is not None:
        refusal = ("used", USED)
    elif link.is_expired:
        refusal = ("expired", EXPIRED)
    elif not user.is_active:
        refusal = ("user blocked", INACTIVE)
    elif purpose != AccountLinkPurpose.CHANGE_EMAIL and link.email.lower() != user.email.lower():
        # A reset link too: it went to an address the account no longer has (whose owner may not be the user's).
        refusal = ("email changed", EMAIL_CHANGED)
    elif purpose in PASSWORD_BOUND and not constant_time_compare(link.password_stamp, password_stamp(user)):
        refusal = ("password changed", PASSWORD_CHANGED)
    if refusal is not None:
        _audit(link, "refused", reason=refusal[0])
        raise AccountLinkRefused(refusal[1], status=410, link=link)
    return link


def _use(link: AccountLink) -> None:
    """Mark the (locked) link used; a second redemption finds it used."""
    if not AccountLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise AccountLinkRefused(USED, status=410, link=link)
    link.used_at = timezone.now()


def _mark_verified(link: AccountLink) -> None:
    """The address becomes verified, or ``AccountLinkRefused`` (409) when another account holds it verified."""
    user = link.user
    try:
        with transaction.atomic():
            user_update(actor=Actor.user(user), user=user, email_verified=True, changes="email verified by a link")
    except (IntegrityError, ValidationError):
        user.email_verified = False
        raise AccountLinkRefused(VERIFIED_ELSEWHERE, status=409, link=link) from None


def email_verify_redeem(*, token: str) -> AccountLink:
    """The address the link was sent to is the user's: ``email_verified``. Refused, and audited, when
    the link does not stand or another account of the connection holds the address verified."""
    refused = None
    with transaction.atomic():  # a refusal is raised once its audit row is committed
        try:
            link = account_link_find(token, purpose=AccountLinkPurpose.VERIFY_EMAIL, lock=True)
            if not link.user.email_verified:
                try:
                    _mark_verified(link)
                except AccountLinkRefused:
                    _audit(link, "refused", reason="email verified elsewhere")
                    raise
            _use(link)
            _audit(link, "redeem", email=link.email)
        except AccountLinkRefused as exc:
            refused = exc
    if refused is not None:
        raise refused
    return link


def password_reset_check(*, token: str) -> AccountLink:
    """The standing reset link behind ``token`` (for the new-password form), without using it."""
    return account_link_find(token, purpose=AccountLinkPurpose.RESET_PASSWORD)


def password_reset_redeem(*, token: str, password: str) -> AccountLink:
    """A new password from a reset link: checked by the user's connection's policy (``ValidationError``
    and the link still stands), then set by ``user_password_set``, which signs out every session and
    revokes the user's refresh tokens. A ticket with ``mark_email_as_verified`` verifies the address too."""
    refused = None
    with transaction.atomic():
        try:
            link = account_link_find(token, purpose=AccountLinkPurpose.RESET_PASSWORD, lock=True)
        except AccountLinkRefused as exc:  # raised once its audit row is committed
            refused = exc
        else:
            user = link.user
            validate_connection_password(password, user=user, connection=user.connection)
            user_password_set(actor=Actor.user(user), user=user, password=password, reason="password reset")
            if link.mark_email_verified and not user.email_verified:
                # The password is reset all the same; the address stays unverified on this account.
                with contextlib.suppress(AccountLinkRefused):
                    _mark_verified(link)
            _use(link)
            _audit(link, "redeem", email_verified=user.email_verified)
    if refused is not None:
        raise refused
    return link


def _email_held_verified(user, email: str) -> bool:
    """Whether another account of the user's connection holds ``email`` verified."""
    return (
        get_user_model()
        .objects.filter(connection_id=user.connection_id, email__iexact=email, email_verified=True)
        .exclude(pk=user.pk)
        .exists()
    )


def _supersede_email_changes(user, *, keep: AccountLink | None = None) -> None:
    """Only the latest email change stands: earlier pending ones are marked used."""
    pending = AccountLink.objects.filter(user=user, purpose=AccountLinkPurpose.CHANGE_EMAIL, used_at__isnull=True)
    if keep is not None:
        pending = pending.exclude(pk=keep.pk)
    pending.update(used_at=timezone.now())


def email_change_request(*, actor: Actor, user, email: str, application=None) -> IssuedAccountLink | None:
    """The user asked for ``email`` to become their address: a link to it, worded by the tenant's
        verification template (``user.email`` there is the new address), sent even when the tenant turned
    verification emails off, as the change cannot happen without it. The account keeps its address
        until the link is used. Nothing is sent (None) when another account of the connection holds
        the address verified; the caller answers the same either way, so the page tells no one whose
        address it is. Earlier pending changes are superseded."""
    if user.connection.strategy != ConnectionStrategy.DATABASE:
        raise ValidationError({"email": "Your identity provider manages your email address."})
    template = account_emails.template_settings(EmailTemplateName.VERIFY_EMAIL)
    with transaction.atomic():
        _supersede_email_changes(user)
        if _email_held_verified(user, email):
            record_event(
                actor=actor,
                action="account_link.withheld",
                target=user,
                reason="email verified elsewhere",
                data={"purpose": AccountLinkPurpose.CHANGE_EMAIL, "email": email},
            )
            return None
        issued = account_link_issue(
            actor=actor,
            user=user,
            purpose=AccountLinkPurpose.CHANGE_EMAIL,
            application=application,
            ttl_seconds=template.url_lifetime_in_seconds,
            email=email,
        )
        account_emails.account_email_send(
            template=EmailTemplateName.VERIFY_EMAIL,
            user=user,
            application=application,
            url=issued.url,
            to=email,
            required=True,
        )
    return issued


def email_change_check(*, token: str) -> AccountLink:
    """The standing email change link behind ``token`` (for the confirmation page), without using it."""
    return account_link_find(token, purpose=AccountLinkPurpose.CHANGE_EMAIL)


EMAIL_CHANGED_SUBJECT = "The email address of your {tenant} account was changed"
EMAIL_CHANGED_BODY = (
    "Hello {name},\n\n"
    "The email address of your {tenant} account is now {new}; this address ({old}) no longer signs in.\n"
    "If you did not ask for this change, reset your password and write to {support}.\n"
)


def _email_changed_notice(user, *, old_email: str) -> None:
    """A fixed notice to the address the account had: its owner learns of the change, and whom to ask."""
    if not old_email:
        return
    tenant = account_emails.tenant_variables()
    email_queue(
        kind="account.email_changed",
        to=old_email,
        subject=EMAIL_CHANGED_SUBJECT.format(tenant=tenant["friendly_name"]),
        body=EMAIL_CHANGED_BODY.format(
            name=user.get_full_name() or old_email,
            tenant=tenant["friendly_name"],
            new=user.email,
            old=old_email,
            support=tenant["support_email"] or "the administrator",
        ),
    )


def email_change_redeem(*, token: str) -> AccountLink:
    """The new address is proven: it becomes the user's, verified (``user_update``), the link is
    used, and the old address gets a notice. Refused (audited) when the link does not stand, when the
    password changed since it was sent, or with a 409 when another account of the connection holds
    the address verified by now."""
    refused = None
    with transaction.atomic():
        try:
            link = account_link_find(token, purpose=AccountLinkPurpose.CHANGE_EMAIL, lock=True)
            user = link.user
            old_email = user.email
            try:
                with transaction.atomic():
                    user_update(
                        actor=Actor.user(user),
                        user=user,
                        email=link.email,
                        email_verified=True,
                        changes="email changed by a link sent to the new address",
                    )
            except (IntegrityError, ValidationError):
                user.refresh_from_db()
                _audit(link, "refused", reason="email verified elsewhere")
                raise AccountLinkRefused(EMAIL_TAKEN, status=409, link=link) from None
            _use(link)
            _supersede_email_changes(user, keep=link)
            _audit(link, "redeem", email=link.email, old_email=old_email)
            _email_changed_notice(user, old_email=old_email)
        except AccountLinkRefused as exc:
            refused = exc
    if refused is not None:
        raise refused
    return link
