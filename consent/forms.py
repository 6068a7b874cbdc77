"""The account pages' forms: they check what the user typed; the services make the change."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from oauthcore.database_connection import password_help, validate_connection_password

WRONG_PASSWORD = "That is not your current password."  # noqa: S105 (a sentence, not a secret)


class PasswordChangeForm(forms.Form):
    """The current password, then the new one twice, checked by the password policy of the user's
    connection (with the user's own name and address, so a new password like them is refused)."""

    old_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        rules = password_help(user.connection)
        if rules:
            items = format_html_join("", "<li>{}</li>", ((rule,) for rule in rules))
            self.fields["new_password1"].help_text = format_html("<ul>{}</ul>", items)

    def clean_old_password(self):
        password = self.cleaned_data["old_password"]
        if not self.user.check_password(password):
            raise ValidationError(WRONG_PASSWORD, code="password_incorrect")
        return password

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two new passwords differ.")
        elif first:
            try:
                validate_connection_password(first, user=self.user, connection=self.user.connection)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class AccountDeleteForm(forms.Form):
    """The user proves it is them before the account goes: their password, or, for a user whose
    identity provider signs them in (no password here), their email address typed out."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    email = forms.CharField(label="Your email address", required=False)

    def __init__(self, user, *args, has_password: bool, **kwargs):
        self.user, self.has_password = user, has_password
        super().__init__(*args, **kwargs)
        if has_password:
            del self.fields["email"]
            self.fields["password"].required = True
        else:
            del self.fields["password"]
            self.fields["email"].required = True
            if not user.email:
                self.fields["email"].label = "Your username"

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(WRONG_PASSWORD, code="password_incorrect")
        return password

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email.lower() != (self.user.email or self.user.get_username()).lower():
            what = "email address" if self.user.email else "username"
            raise ValidationError(f"Type the {what} of this account.", code="email_mismatch")
        return email


class EmailChangeForm(forms.Form):
    """The new address and the current password (a session left open must not be enough to take
    the account's address, and with it its password resets)."""

    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email.lower() == (self.user.email or "").lower():
            raise ValidationError("This is already your address.", code="same_email")
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(WRONG_PASSWORD, code="password_incorrect")
        return password
