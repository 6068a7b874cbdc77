"""The partner portal's forms. They check what a person can fix on the spot; services decide the rest,
and a service's refusal comes back as errors on these forms (``apply_service_errors``)."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from oauthcore.admin.base import LinesField, add_service_error
from oauthcore.constants import AppType, SubjectType
from oauthcore.decision_inputs import client_facts
from oauthcore.models import Application
from oauthcore.policy import Flow, decide_grant_type
from oauthcore.validation import url_list_error
from portal.partners import roles
from portal.partners.models import Partner, Role
from portal.partners.services.apps import partner_app_errors

APP_TYPE_HELP = {
    AppType.REGULAR_WEB: "A server-side web app that keeps a secret (authorization code flow).",
    AppType.SPA: "A JavaScript app in the browser: no secret, PKCE only.",
    AppType.NATIVE: "A mobile or desktop app: no secret, PKCE, custom-scheme callbacks allowed.",
    AppType.NON_INTERACTIVE: "A back end or script calling APIs as itself (client credentials).",
}
GRACE_CHOICES = [
    ("0", "None: stops now"),
    ("3600", "1 hour"),
    ("86400", "24 hours"),
    ("604800", "7 days"),
]
# Model fields whose service errors belong to a differently named form field.
FIELD_ALIASES = {"redirect_uris": "callbacks", "resource_server": "api", "scope": "scopes"}


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on ``form``: on the field it names, else above the form."""
    if hasattr(error, "error_dict"):
        error = ValidationError({FIELD_ALIASES.get(name, name): items for name, items in error.error_dict.items()})
    add_service_error(form, error)


# -- accounts ----------------------------------------------------------------------------------------------


# One answer whatever is in the way, so the form does not tell who has an account here.
ACCOUNT_UNAVAILABLE = (
    "We could not create an account with this username and email address. "
    "Choose another username, or log in if you already have an account."
)


class AccountFields(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and . + - _ only (or your email address). You log in with it, or with your email.",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not only digits, not a common password.",
    )
    email_field = "email"

    def clean_username(self):
        username = self.cleaned_data["username"]
        get_user_model().username_validator(username)
        return username

    def account_email(self) -> str:
        return self.cleaned_data.get("email", "")

    @staticmethod
    def available(username: str, email: str) -> bool:
        """The username is free and neither name shadows another account's (``User.name_conflicts``)."""
        User = get_user_model()
        return not User.objects.filter(username=username).exists() and not User.name_conflicts(
            username=username, email=email
        )

    def clean(self):
        cleaned = super().clean()
        User = get_user_model()
        username, email = cleaned.get("username"), self.account_email()
        if username and "@" in username and username.lower() != email.lower():
            self.add_error("username", "A username may contain @ only when it is your own email address.")
        elif username and email and not self.available(username, email):
            self.add_error(None, ACCOUNT_UNAVAILABLE)
        password = cleaned.get("password")
        if password:
            try:
                validate_password(password, user=User(username=cleaned.get("username", ""), email=self.account_email()))
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class OrganizationFields(forms.Form):
    name = forms.CharField(label="Organization name", max_length=200)
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")


class SignUpForm(OrganizationFields, AccountFields):
    """A new partner and its owner's account."""

    email = forms.EmailField(
        label="Work email",
        help_text="We send a link to confirm it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # An address already in use is not refused: until confirmed it is only claimed (``partner_sign_up``).
    field_order = ["name", "website", "email", "username", "password"]


class InvitationSignUpForm(AccountFields):
    def __init__(self, *args, email: str, **kwargs):
        self.invited_email = email
        super().__init__(*args, **kwargs)

    def account_email(self) -> str:
        return self.invited_email


class PartnerForm(OrganizationFields):
    pass


class DeletePartnerForm(forms.Form):
    confirm = forms.CharField(label="Type the organization name to confirm", max_length=200)

    def __init__(self, *args, partner: Partner, **kwargs):
        self.partner = partner
        super().__init__(*args, **kwargs)

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != self.partner.name:
            raise ValidationError(f"Type {self.partner.name} exactly.")
        return self.cleaned_data["confirm"]


# -- team --------------------------------------------------------------------------------------------------


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(widget=forms.RadioSelect)

    def __init__(self, *args, inviter_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, Role(r).label) for r in roles.grantable_roles(inviter_role)]
        self.fields["role"].initial = Role.DEVELOPER


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


# -- apps --------------------------------------------------------------------------------------------------


# What the app forms give the services, besides the type and refresh tokens.
SERVICE_FIELDS = ("name", "description", "logo_uri", "callbacks", "allowed_origins", "web_origins")


class AppFields(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(
        max_length=140, required=False, help_text="Shown to users on the consent screen (140 characters)."
    )
    logo_uri = forms.URLField(
        label="Logo URL", max_length=2000, required=False, assume_scheme="https", help_text="An https image, square."
    )
    callbacks = LinesField(
        label="Callback URLs",
        help_text="One per line, matched exactly. https, or http only for localhost; native apps may use "
        "a reverse-domain scheme (com.example.app:/callback).",
    )
    allowed_origins = LinesField(
        label="Allowed origins (CORS)",
        help_text="Origins whose browser code calls the token endpoint, e.g. https://app.example.com (SPAs).",
    )
    web_origins = LinesField(label="Allowed web origins", help_text="Origins of pages that embed the login.")
    refresh_tokens = forms.BooleanField(
        label="Use refresh tokens", required=False, help_text="Ask users for offline_access where an API allows it."
    )

    def __init__(self, *args, application: Application | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application  # the app being edited; None for a new one

    def _bounded(self, name: str, label: str) -> list[str]:
        """A list of URLs, refused on the field when too many or too long (before the service parses them)."""
        urls = self.cleaned_data[name]
        if message := url_list_error(label, urls):
            raise ValidationError(message)
        return urls

    def clean_callbacks(self):
        return self._bounded("callbacks", "Callback URLs")

    def clean_allowed_origins(self):
        return self._bounded("allowed_origins", "Allowed origins")

    def clean_web_origins(self):
        return self._bounded("web_origins", "Allowed web origins")

    def clean(self):
        """The app's own rules (``partner_app_errors``) are checked with the form's, so every error of a
        submission shows at once; a field the form already refused is not checked again."""
        cleaned = super().clean()
        app_type = cleaned.get("app_type", "")
        if self.application is None and not app_type:
            return cleaned  # the callback rules depend on the type: wait for one
        fields = {name: cleaned[name] for name in SERVICE_FIELDS if name in cleaned}
        errors = partner_app_errors(
            application=self.application,
            app_type=app_type,
            refresh_tokens=cleaned.get("refresh_tokens", False),
            **fields,
        )
        unseen = {name: items for name, items in errors.items() if FIELD_ALIASES.get(name, name) not in self.errors}
        if unseen:
            apply_service_errors(self, ValidationError(unseen))
        return cleaned

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in SERVICE_FIELDS}


class AppCreateForm(AppFields):
    app_type = forms.ChoiceField(
        label="Application type", choices=AppType.choices, widget=forms.RadioSelect, initial=AppType.REGULAR_WEB
    )
    field_order = ["name", "app_type"]

    def type_choices(self):
        return [(value, label, APP_TYPE_HELP[value]) for value, label in AppType.choices]


class AppEditForm(AppFields):
    @classmethod
    def initial_for(cls, application: Application) -> dict:
        return {
            "name": application.name,
            "description": application.description,
            "logo_uri": application.logo_uri,
            "callbacks": application.callbacks,
            "allowed_origins": application.allowed_origin_list,
            "web_origins": application.web_origins,
            "refresh_tokens": "refresh_token" in application.grant_types,
        }


class RotateSecretForm(forms.Form):
    grace = forms.ChoiceField(
        label="Keep the current secret working for",
        choices=GRACE_CHOICES,
        initial="86400",
        widget=forms.RadioSelect,
    )

    def grace_period(self) -> timedelta:
        return timedelta(seconds=int(self.cleaned_data["grace"]))


# -- access requests ---------------------------------------------------------------------------------------

SUBJECT_CHOICES = [
    (SubjectType.USER, "Act for users (user-delegated: users sign in and consent)"),
    (SubjectType.CLIENT, "Call the API as the app itself (machine to machine)"),
]
FLOW_OF = {SubjectType.USER: Flow.AUTHORIZE, SubjectType.CLIENT: Flow.CLIENT_CREDENTIALS}


class AccessRequestForm(forms.Form):
    """``entries`` are the catalog's entries for this app (portal.partners.catalog.api_catalog)."""

    api = forms.ChoiceField(label="API")
    subject_type = forms.ChoiceField(label="Kind of access", choices=SUBJECT_CHOICES, widget=forms.RadioSelect)
    # Not required by the field: clean() says why none is picked (none left to ask for, or none ticked).
    scopes = forms.MultipleChoiceField(label="Scopes needed", widget=forms.CheckboxSelectMultiple, required=False)
    justification = forms.CharField(
        min_length=20,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the app does with this access, for whom. The tenant's admins read this to decide.",
    )

    def __init__(self, *args, application: Application, entries, api_id: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application
        self.entries = {entry.api.pk: entry for entry in entries}
        self.fields["api"].choices = [("", "Choose an API")] + [
            (entry.api.pk, f"{entry.api.name} ({entry.api.identifier})") for entry in entries
        ]
        self.entry = self.entries.get(api_id or self.data.get("api") or self.initial.get("api"))
        self.fields["scopes"].choices = [
            (scope.value, f"{scope.value}: {scope.description}" if scope.description else scope.value)
            for scope in (self.entry.scopes if self.entry else [])
        ]
        available = [value for value, _ in SUBJECT_CHOICES if self.subject_available(value)]
        self.fields["subject_type"].initial = available[0] if available else None

    def subject_rows(self) -> list[dict]:
        """The kinds of access, each with what the app has today and whether its type can use it."""
        chosen = self["subject_type"].value()
        return [
            {
                "value": value,
                "label": label,
                "available": self.subject_available(value),
                "checked": value == chosen,
                "now": (self.entry.app_user if value == SubjectType.USER else self.entry.app_client).words,
            }
            for value, label in SUBJECT_CHOICES
        ]

    def held_scopes(self, subject_type: str | None) -> set[str]:
        """The scopes the app already has for ``subject_type`` on this API: its own grant's, and what
        the tenant's policy or default permissions give it today."""
        if self.entry is None or subject_type not in FLOW_OF:
            return set()
        access = self.entry.app_user if subject_type == SubjectType.USER else self.entry.app_client
        held = set(self.entry.own_scopes.get(subject_type, []))
        return held | set(access.scopes) if access is not None and access.allowed else held

    def scope_rows(self) -> list[dict]:
        """The scope choices, those the app already has (for the kind of access chosen) marked.

        A partner app can use one kind of access only (a web app acts for users, a machine-to-machine
        app as itself), so the kind chosen is the one the marks are about."""
        held = self.held_scopes(self["subject_type"].value())
        picked = set(self["scopes"].value() or [])
        return [
            {
                "id": f"{self['scopes'].auto_id}_{index}",
                "value": value,
                "label": label,
                "held": value in held,
                "checked": value in held or value in picked,
            }
            for index, (value, label) in enumerate(self.fields["scopes"].choices)
        ]

    def holds_some(self) -> bool:
        return bool(self.held_scopes(self["subject_type"].value()))

    def subject_available(self, subject_type: str) -> bool:
        return decide_grant_type(client_facts(self.application), FLOW_OF[subject_type]) is None

    def clean_subject_type(self):
        subject_type = self.cleaned_data["subject_type"]
        if not self.subject_available(subject_type):
            raise ValidationError(
                f"A {self.application.get_app_type_display().lower()} cannot use this kind of access."
                if subject_type == SubjectType.CLIENT
                else "A machine-to-machine app does not act for users."
            )
        return subject_type

    def clean(self):
        cleaned = super().clean()
        subject, scopes = cleaned.get("subject_type"), cleaned.get("scopes")
        held = self.held_scopes(subject)
        every = {value for value, _ in self.fields["scopes"].choices}
        if "scopes" in self.errors:
            pass
        elif not scopes and held and held >= every:
            api = self.entry.api.name
            self.add_error("scopes", f"The app already has every scope of {api} for this kind of access.")
        elif not scopes:
            self.add_error("scopes", "Pick at least one scope.")
        elif set(scopes) <= held:
            self.add_error("scopes", "The app already has these scopes.")
        if self.entry is not None and subject and any(r.subject_type == subject for r in self.entry.pending):
            self.add_error(None, "A request for this API and kind of access is already waiting for a decision.")
        return cleaned

    def request_fields(self) -> dict:
        return {
            "resource_server": self.entry.api,
            "subject_type": self.cleaned_data["subject_type"],
            "scope": list(self.cleaned_data["scopes"]),
            "justification": self.cleaned_data["justification"],
        }
