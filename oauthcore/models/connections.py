"""Connections: where users come from. Third-party apps only use domain-level connections."""

import re

from django.core.exceptions import ValidationError
from django.db import models

from oauthcore.constants import ConnectionStrategy
from oauthcore.credentials import new_connection_id
from oauthcore.models.immutable import ImmutableFieldsMixin

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
    enabled_clients = models.ManyToManyField("oauthcore.Application", blank=True, related_name="enabled_connections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = self.immutable_field_errors()
        if not CONNECTION_NAME_RE.match(self.name or ""):
            errors["name"] = "Use letters, digits and single hyphens, starting and ending with a letter or digit."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.check_immutable_fields()
        super().save(*args, **kwargs)
