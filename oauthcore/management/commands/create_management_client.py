"""Bootstrap automation: a first-party machine-to-machine client allowed every Management API scope."""

import json

from django.core.management.base import BaseCommand
from django.db import transaction

from oauthcore.audit import Actor
from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, CreatedVia, SubjectType, management_api_scopes
from oauthcore.services.applications import application_create
from oauthcore.services.client_grants import client_grant_create


class Command(BaseCommand):
    help = (
        "Create a first-party machine-to-machine client with a grant for every Management API scope, and print "
        '{"client_id", "client_secret", "audience", "token_endpoint"} as one JSON object.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The client's name.")

    def handle(self, *args, name, **options):
        actor = Actor.system("create_management_client")
        audience = portcullis_settings.management_api_identifier
        with transaction.atomic():
            issued = application_create(
                actor=actor,
                name=name,
                app_type=AppType.NON_INTERACTIVE,
                created_via=CreatedVia.ADMIN,
                is_first_party=True,
                description="Management API client",
            )
            client_grant_create(
                actor=actor,
                audience=audience,
                client=issued.application,
                subject_type=SubjectType.CLIENT,
                scope=[value for value, _ in management_api_scopes()],
            )
        self.stdout.write(
            json.dumps(
                {
                    "client_id": issued.application.client_id,
                    "client_secret": issued.client_secret,
                    "audience": audience,
                    "token_endpoint": f"{portcullis_settings.issuer}/oauth/token",
                }
            )
        )
