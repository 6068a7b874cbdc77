"""``python manage.py rotate_signing_key``: a new key signs from now on; the old ones stay published."""

from django.core.management.base import BaseCommand

from oauthcore.audit import Actor
from oauthcore.keys import rotate_signing_key


class Command(BaseCommand):
    help = "Sign new tokens with a fresh RS256 key; retired keys stay in the JWKS until their tokens expire."

    def handle(self, *args, **options):
        key = rotate_signing_key(actor=Actor.system("rotate_signing_key"))
        self.stdout.write(f"New signing key {key.kid}. Processes pick it up within 30 seconds.")
