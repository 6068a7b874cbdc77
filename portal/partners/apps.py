from django.apps import AppConfig


class PartnersConfig(AppConfig):
    """The partner app. Its label stays ``portal`` (the package it grew up in), so its tables
    (``portal_partner``, ``portal_accessrequest``…), migrations and permissions keep their names."""

    name = "portal.partners"
    label = "portal"
    verbose_name = "Partner portal"
