"""Connections: where users come from. Third-party apps only use domain-level connections.

The database connection (strategy ``auth0``) holds Django users with passwords. Enterprise
connections (``oidc``, ``samlp``) are a customer's own identity provider: its users sign in there
and arrive here just in time. ``options`` holds the strategy's settings in Auth0's shapes, without
its secrets, which are sealed apart (``oauthcore.sealed``) and never shown; ``domain_aliases``
send an email address's domain to the connection that serves it (home-realm discovery).
"""

import re

from django.core.exceptions import ValidationError
from django.db import models

from oauthcore.constants import ENTERPRISE_STRATEGIES, ConnectionStrategy
from oauthcore.credentials import new_connection_id
from oauthcore.models.immutable import ImmutableFieldsMixin
from oauthcore.sealed import seal, unseal

CONNECTION_NAME_RE = re.compile(r"^[a-zA-Z0-9](-?[a-zA-Z0-9])*$")


class Connection(ImmutableFieldsMixin, models.Model):
    immutable_fields = ("name", "strategy")

    id = models.CharField(primary_key=True, max_length=20, default=new_connection_id, editable=False)
    name = models.CharField(max_length=128, unique=True)
    display_name = models.CharField(max_length=128, blank=True)
    strategy = models.CharField(max_length=20, choices=ConnectionStrategy.choices, default=ConnectionStrategy.DATABASE)
    is_domain_connection = models.BooleanField(
        "domain level", default=False, help_text="Domain-level connections are open to every third-party app."
    )
    # Off while a customer's IT admin is still setting the connection up (a setup link's): nobody
    # signs in through it except that admin's test sign-in.
    is_enabled = models.BooleanField(default=True, help_text="Users can sign in through this connection.")
    show_as_button = models.BooleanField(
        default=True, help_text="Offer the connection as a button on the login page (enterprise connections)."
    )
    options = models.JSONField(default=dict, blank=True, help_text="The strategy's settings, without secrets.")
    sealed_secrets = models.TextField(blank=True, editable=False)
    enabled_clients = models.ManyToManyField("oauthcore.Application", blank=True, related_name="enabled_connections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_enterprise(self) -> bool:
        return self.strategy in ENTERPRISE_STRATEGIES

    @property
    def label(self) -> str:
        """What the login page's button says."""
        return self.display_name or self.name

    @property
    def secrets(self) -> dict[str, str]:
        return unseal(self.sealed_secrets)

    def set_secrets(self, values: dict[str, str]) -> None:
        self.sealed_secrets = seal({name: value for name, value in values.items() if value})

    @property
    def domain_aliases(self) -> list[str]:
        return list(self.options.get("domain_aliases") or [])

    def clean(self):
        errors = self.immutable_field_errors()
        if not CONNECTION_NAME_RE.match(self.name or ""):
            errors["name"] = "Use letters, digits and single hyphens, starting and ending with a letter or digit."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.check_immutable_fields()
        super().save(*args, **kwargs)


class ConnectionDomain(models.Model):
    """One email domain a connection answers for, at most one connection per domain: the index
    home-realm discovery looks up (kept equal to ``options.domain_aliases`` by the services)."""

    domain = models.CharField(max_length=253, unique=True)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="domains")

    def __str__(self):
        return self.domain


class FederatedAssertion(models.Model):
    """An identity provider's one-time proof (a SAML assertion's ID, an ID token's ``jti`` or
    nonce), kept until it would have expired anyway: the same proof is never accepted twice."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("connection", "assertion_id", name="federated_assertion_once_per_connection")
        ]

    def __str__(self):
        return self.assertion_id


class FederationFlow(models.Model):
    """One sign-in sent to an identity provider, from ``begin`` until its answer is used.

    ``state`` (OpenID Connect's ``state``, SAML's ``RelayState``) finds it when the provider sends the
    browser back; ``binding`` is a digest of a value kept in the browser's session, so that an answer
    only completes a sign-in in the browser that started it; ``data`` is what the strategy needs to
    verify the answer (a nonce, a PKCE verifier, a SAML request id). ``completed_at`` makes it single
    use: it is set once, by a conditional update, whichever request gets there first.
    """

    state = models.CharField(primary_key=True, max_length=64)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    binding = models.CharField(max_length=64)
    # "login" (then ``next`` is where to go), "test" (the admin's test sign-in), "setup" (a setup link's).
    purpose = models.CharField(max_length=16, default="login")
    next_url = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A SAML answer is posted across sites, without the session cookie: it is verified, kept here,
    # and the browser is sent on to a same-site page that checks the binding and signs the user in.
    profile = models.JSONField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.connection_id} {self.purpose}"
