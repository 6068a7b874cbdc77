"""Applications (OAuth clients): django-oauth-toolkit's model, swapped in with Auth0's fields."""

from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from oauth2_provider.models import AbstractApplication, ApplicationManager, redirect_to_uri_allowed

from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    DOT_GRANT_TYPE_NAMES,
    SELF_REGISTERED,
    STRICT_THIRD_PARTY_GRANT_TYPES,
    SUPPORTED_GRANT_TYPES,
    AppType,
    CreatedVia,
    GrantType,
    OrganizationRequireBehavior,
    OrganizationUsage,
    RedirectionPolicy,
    SecurityMode,
    TokenEndpointAuthMethod,
)
from oauthcore.credentials import new_client_id
from oauthcore.models.immutable import ImmutableFieldsMixin
from oauthcore.validation import (
    callback_url_error,
    logo_uri_error,
    origin_error,
    shown_logo_uri,
    url_list_error,
    url_port,
)

STRICT_CLIENT_ID_REGEX = r"^tpc_[A-Za-z0-9]{22}$"


def default_grant_types(*, app_type: str, is_first_party: bool) -> list[str]:
    """Auth0's defaults: strict third-party apps get authorization_code only."""
    if app_type == AppType.NON_INTERACTIVE:
        return [GrantType.CLIENT_CREDENTIALS.value]
    if not is_first_party:
        return [GrantType.AUTHORIZATION_CODE.value]
    return [GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value]


def default_auth_method(app_type: str) -> str:
    if app_type in {AppType.SPA, AppType.NATIVE}:
        return TokenEndpointAuthMethod.NONE.value
    return TokenEndpointAuthMethod.CLIENT_SECRET_POST.value


class Application(ImmutableFieldsMixin, AbstractApplication):
    """An OAuth client. ``client_secret`` holds only a digest; the plain secret is shown once."""

    immutable_fields = ("is_first_party", "third_party_security_mode", "client_id", "created_via")

    description = models.CharField(max_length=140, blank=True)
    logo_uri = models.URLField(max_length=2000, blank=True)
    app_type = models.CharField(max_length=20, choices=AppType.choices, default=AppType.REGULAR_WEB)
    is_first_party = models.BooleanField(default=True)
    third_party_security_mode = models.CharField(
        max_length=12,
        choices=SecurityMode.choices,
        blank=True,
        default="",
        help_text="Third-party apps only. Set at creation and never changed.",
    )
    redirection_policy = models.CharField(max_length=32, choices=RedirectionPolicy.choices, blank=True, default="")
    web_origins = models.JSONField(default=list, blank=True)
    grant_types = models.JSONField(default=list, blank=True)
    token_endpoint_auth_method = models.CharField(
        max_length=24, choices=TokenEndpointAuthMethod.choices, blank=True, default=""
    )
    client_metadata = models.JSONField(default=dict, blank=True)
    created_via = models.CharField(max_length=10, choices=CreatedVia.choices, default=CreatedVia.ADMIN)
    # CIMD: the https URL the app calls itself by (its client ID metadata document); resolved to this row.
    external_client_id = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)
    # RFC 7592: the SHA-256 of the registration access token of a dynamically registered app.
    registration_token_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    client_secret_hint = models.CharField(
        max_length=4, blank=True, editable=False, help_text="The last four characters of the current secret."
    )
    # Set by applications_set_suspended (its owner, such as a partner, was suspended): the app gets
    # nothing from any grant type until it is lifted. Not editable on its own: it follows the owner.
    suspended = models.BooleanField(
        default=False, editable=False, help_text="Suspended apps get no token from any grant type."
    )

    organization_usage = models.CharField(
        max_length=7,
        choices=OrganizationUsage.choices,
        default=OrganizationUsage.DENY,
        help_text="Whether users log in to an organization: deny (never), allow (when asked), require (always).",
    )
    organization_require_behavior = models.CharField(
        max_length=17,
        choices=OrganizationRequireBehavior.choices,
        default=OrganizationRequireBehavior.NO_PROMPT,
        help_text="With organization_usage require, what /authorize does when the request names no organization.",
    )

    objects = ApplicationManager()

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        constraints = [
            models.CheckConstraint(
                name="app_security_mode_matches_party",
                condition=Q(is_first_party=True, third_party_security_mode="")
                | Q(is_first_party=False, third_party_security_mode__in=SecurityMode.values),
                violation_error_message="Only third-party applications have a security mode, and they must have one.",
            ),
            models.CheckConstraint(
                name="app_strict_client_id_format",
                condition=~Q(is_first_party=False, third_party_security_mode=SecurityMode.STRICT)
                | Q(client_id__regex=STRICT_CLIENT_ID_REGEX),
                violation_error_message="Strict third-party applications have tpc_ client ids.",
            ),
            models.CheckConstraint(
                name="app_tpc_prefix_reserved",
                condition=Q(is_first_party=False, third_party_security_mode=SecurityMode.STRICT)
                | ~Q(client_id__startswith="tpc_"),
                violation_error_message="The tpc_ prefix is reserved for strict third-party applications.",
            ),
            models.CheckConstraint(name="app_type_valid", condition=Q(app_type__in=AppType.values)),
            models.CheckConstraint(name="app_secret_always_hashed", condition=Q(hash_client_secret=True)),
        ]

    @property
    def is_strict_third_party(self) -> bool:
        return not self.is_first_party and self.third_party_security_mode == SecurityMode.STRICT

    @property
    def is_confidential(self) -> bool:
        return self.token_endpoint_auth_method != TokenEndpointAuthMethod.NONE

    @property
    def callbacks(self) -> list[str]:
        return self.redirect_uris.split()

    @callbacks.setter
    def callbacks(self, urls: list[str]) -> None:
        self.redirect_uris = " ".join(urls)

    @property
    def allowed_origin_list(self) -> list[str]:
        return self.allowed_origins.split()

    @property
    def shown_logo_uri(self) -> str:
        """The logo pages show: only an https one (rows older than that rule may hold http logos)."""
        return shown_logo_uri(self.logo_uri)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The stored logo, so that only a new or changed one is held to the https rule: an older row
        # with an http logo still saves (a rotation, a rename); its logo is simply not shown.
        instance._stored_logo_uri = instance.__dict__.get("logo_uri")
        return instance

    def refresh_from_db(self, *args, fields=None, **kwargs):
        super().refresh_from_db(*args, fields=fields, **kwargs)
        if fields is None or "logo_uri" in fields:
            self._stored_logo_uri = self.__dict__.get("logo_uri")

    # -- django-oauth-toolkit hooks -----------------------------------------------------------

    def allows_grant_type(self, *grant_types):
        """DOT checks one grant type per app; Portcullis apps list several (``grant_types``)."""
        return any(DOT_GRANT_TYPE_NAMES.get(name) in self.grant_types for name in grant_types)

    def redirect_uri_allowed(self, uri: str) -> bool:
        """django-oauth-toolkit's match, with RFC 8252 §7.3's any-port rule for native apps only.

        A native app listens on a port the operating system gives it at run time, so its loopback
        callback matches whatever port it asks for. Any other app's callback is matched exactly,
        port included: a confidential web app registered at ``http://127.0.0.1:8080/cb`` must not
        have its code sent to whatever else listens on another port of the user's machine.
        """
        try:
            port = url_port(uri)
        except ValueError:
            return False  # not a port (99999, "port"): no callback, whatever the rule on ports
        if self.app_type == AppType.NATIVE:
            return super().redirect_uri_allowed(uri)
        return redirect_to_uri_allowed(uri, [url for url in self.callbacks if _has_port(url, port)])

    def clean_fields(self, exclude=None):
        # Derived values first, so field validation sees what will be saved.
        if self._state.adding:
            self.apply_creation_defaults()
        self.sync_dot_fields()
        super().clean_fields(exclude=exclude)

    def clean(self):
        # DOT's clean() validates its single-grant-type model; ours replaces it entirely.
        self.validate_invariants()

    # -- invariants ---------------------------------------------------------------------------

    def apply_creation_defaults(self) -> None:
        """Fill what Auth0 derives at creation from the app's type and ownership."""
        if not self.is_first_party and not self.third_party_security_mode:
            self.third_party_security_mode = SecurityMode.STRICT
        if not self.token_endpoint_auth_method:
            self.token_endpoint_auth_method = default_auth_method(self.app_type)
        if not self.grant_types:
            self.grant_types = default_grant_types(app_type=self.app_type, is_first_party=self.is_first_party)
        if not self.redirection_policy:
            self.redirection_policy = (
                RedirectionPolicy.OPEN_REDIRECT_PROTECTION
                if self.is_strict_third_party
                else RedirectionPolicy.ALLOW_ALWAYS
            )
        if self.is_strict_third_party and not self.client_id.startswith("tpc_"):
            self.client_id = new_client_id(strict_third_party=True)

    def invariant_errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        for field, message in self.immutable_field_errors().items():
            add(field, message)
        strict = self.is_strict_third_party
        if self.is_first_party and self.third_party_security_mode:
            add("third_party_security_mode", "Only third-party applications have a security mode.")
        if not self.is_first_party and self.third_party_security_mode not in SecurityMode.values:
            add("third_party_security_mode", "Third-party applications must be strict or permissive.")
        if self.app_type not in AppType.values:
            add("app_type", f"Must be one of: {', '.join(AppType.values)}.")
        if self.token_endpoint_auth_method not in TokenEndpointAuthMethod.values:
            add("token_endpoint_auth_method", f"Must be one of: {', '.join(TokenEndpointAuthMethod.values)}.")
        if strict and not self.client_id.startswith("tpc_"):
            add("client_id", "Strict third-party applications have tpc_ client ids.")
        if not strict and self.client_id.startswith("tpc_"):
            add("client_id", "The tpc_ prefix is reserved for strict third-party applications.")

        grant_types = self.grant_types
        if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
            add("grant_types", "grant_types must be a list of strings.")
        else:
            unsupported = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
            if unsupported:
                add("grant_types", f"Unsupported grant types: {', '.join(unsupported)}.")
            if strict:
                refused = [
                    g for g in grant_types if g in SUPPORTED_GRANT_TYPES and g not in STRICT_THIRD_PARTY_GRANT_TYPES
                ]
                if refused:
                    add("grant_types", f"Strict third-party applications cannot use: {', '.join(refused)}.")
            if GrantType.CLIENT_CREDENTIALS in grant_types:
                if not self.is_confidential:
                    add(
                        "grant_types",
                        "client_credentials needs a confidential client (token_endpoint_auth_method other than none).",
                    )
                if strict and self.created_via in SELF_REGISTERED:
                    add("grant_types", "client_credentials is not available to dynamically registered applications.")
            if len(set(grant_types)) != len(grant_types):
                add("grant_types", "grant_types must not repeat a grant type.")

        if not self.is_first_party and not strict and self.organization_usage != OrganizationUsage.DENY:
            add("organization_usage", "Permissive third-party applications do not support organizations.")
        if self.organization_usage not in OrganizationUsage.values:
            add("organization_usage", f"Must be one of: {', '.join(OrganizationUsage.values)}.")
        if self.organization_require_behavior not in OrganizationRequireBehavior.values:
            add("organization_require_behavior", f"Must be one of: {', '.join(OrganizationRequireBehavior.values)}.")

        if self.logo_uri != getattr(self, "_stored_logo_uri", None) and (message := logo_uri_error(self.logo_uri)):
            add("logo_uri", message)
        # Each list is bounded before its URLs are parsed one by one.
        if message := url_list_error("Callback URLs", self.callbacks):
            add("redirect_uris", message)
        else:
            for url in self.callbacks:
                if message := callback_url_error(url, strict_third_party=strict, app_type=self.app_type):
                    add("redirect_uris", message)
        if message := url_list_error("Allowed origins", self.allowed_origin_list):
            add("allowed_origins", message)
        else:
            for origin in self.allowed_origin_list:
                if message := origin_error(origin):
                    add("allowed_origins", message)
        if not isinstance(self.web_origins, list):
            add("web_origins", "web_origins must be a list of origins.")
        elif message := url_list_error("Web origins", self.web_origins):
            add("web_origins", message)
        else:
            for origin in self.web_origins:
                if message := origin_error(origin):
                    add("web_origins", message)
        metadata = self.client_metadata
        if not isinstance(metadata, dict):
            add("client_metadata", "client_metadata must be an object of string values.")
        else:
            max_keys = portcullis_settings.CLIENT_METADATA_MAX_LIST
            longest = portcullis_settings.CLIENT_METADATA_MAX_STRING
            if len(metadata) > max_keys:
                add("client_metadata", f"client_metadata holds at most {max_keys} keys.")
            else:
                for key, value in metadata.items():
                    if not isinstance(key, str) or len(key) > longest:
                        add("client_metadata", f"client_metadata keys are at most {longest} characters.")
                    elif not isinstance(value, str) or len(value) > longest:
                        add(
                            "client_metadata",
                            f"client_metadata[{key!r}] must be a string of at most {longest} characters.",
                        )
        if self.redirection_policy and self.redirection_policy not in RedirectionPolicy.values:
            add("redirection_policy", f"Must be one of: {', '.join(RedirectionPolicy.values)}.")
        return errors

    def validate_invariants(self) -> None:
        errors = self.invariant_errors()
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self._state.adding:
            self.apply_creation_defaults()
        self.sync_dot_fields()
        self.validate_invariants()
        self.sync_dot_fields()
        if self.client_secret and not _is_hashed(self.client_secret):
            self.client_secret_hint = self.client_secret[-4:]
        super().save(*args, **kwargs)
        if kwargs.get("update_fields") is None or "logo_uri" in kwargs["update_fields"]:
            self._stored_logo_uri = self.logo_uri

    def sync_dot_fields(self) -> None:
        """DOT's own columns, derived from Portcullis' richer fields."""
        self.client_type = self.CLIENT_PUBLIC if not self.is_confidential else self.CLIENT_CONFIDENTIAL
        self.authorization_grant_type = self._dot_grant_type()
        self.registration_source = {
            CreatedVia.DYNAMIC: self.RegistrationSource.DCR,
            CreatedVia.CIMD: self.RegistrationSource.CIMD,
        }.get(self.created_via, self.RegistrationSource.MANUAL)
        self.hash_client_secret = True
        # ID tokens (RS256) for apps that may use OIDC; strict third-party apps get none (rule 9).
        self.algorithm = "" if self.is_strict_third_party else self.RS256_ALGORITHM

    @property
    def jwk_key(self):
        """DOT signs ID tokens with this: the tenant's active signing key."""
        from oauthcore.keys import active_signing_key

        return active_signing_key().jwk

    def _dot_grant_type(self) -> str:
        for dot_name, ours in DOT_GRANT_TYPE_NAMES.items():
            if ours in self.grant_types and dot_name != "refresh_token":
                return dot_name
        return self.GRANT_AUTHORIZATION_CODE

    def __str__(self):
        return f"{self.name or 'Unnamed app'} ({self.client_id})"


def _has_port(url: str, port: int | None) -> bool:
    """Whether a registered callback names ``port`` (never, for one whose port is not a port)."""
    try:
        return url_port(url) == port
    except ValueError:
        return False


def _is_hashed(secret: str) -> bool:
    try:
        identify_hasher(secret)
    except ValueError:
        return False
    return True


class PreviousClientSecret(models.Model):
    """A replaced client secret that still authenticates its application until ``expires_at``.

    Written when a secret is rotated with a grace period, so that the app's deployments can move to
    the new secret without downtime. Holds the same digest the application held (never the plain
    secret) and its last four characters for display. Client authentication checks these only when
    the current secret does not match, and checks the expiry itself: a periodic task deletes expired
    rows, but an expired row never authenticates, even before that task has run.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="previous_secrets")
    secret = models.CharField(max_length=255, help_text="The digest of the replaced secret.")
    hint = models.CharField(max_length=4, blank=True, help_text="Its last four characters.")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was replaced.")

    class Meta:
        ordering = ["expires_at"]
        indexes = [
            # Client authentication: the live previous secrets of one application.
            models.Index(fields=["application", "expires_at"], name="prev_secret_app_expiry"),
            # The retiring task: every expired one.
            models.Index(fields=["expires_at"], name="prev_secret_expiry"),
        ]

    def __str__(self):
        return f"••••{self.hint} of {self.application_id} (until {self.expires_at:%Y-%m-%d %H:%M})"
