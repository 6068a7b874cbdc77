"""``python manage.py rotate_signing_key``: a new key signs from now on; the old ones stay published.

``--reencrypt`` only encrypts the stored keys under the current SECRET_KEY (those that decrypt
under one of SECRET_KEY_FALLBACKS), without rotating: the step after changing SECRET_KEY, before
its previous value leaves the fallbacks.
"""

from django.core.management.base import BaseCommand, CommandError

from oauthcore.audit import Actor
from oauthcore.keys import UnreadableSigningKey, reencrypt_signing_keys, rotate_signing_key
from oauthcore.models import SigningKey


class Command(BaseCommand):
    help = "Sign new tokens with a fresh RS256 key; retired keys stay in the JWKS until their tokens expire."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reencrypt",
            action="store_true",
            help="Do not rotate: encrypt the keys that decrypt only under SECRET_KEY_FALLBACKS under SECRET_KEY.",
        )

    def handle(self, *args, reencrypt=False, **options):
        actor = Actor.system("rotate_signing_key")
        if reencrypt:
            reencrypted, unreadable = reencrypt_signing_keys(actor=actor)
            self.stdout.write(f"Re-encrypted {len(reencrypted)} signing key(s) under SECRET_KEY.")
            signing = SigningKey.objects.filter(kid__in=unreadable, retired_at__isnull=True).first()
            if signing is not None:
                raise CommandError(str(UnreadableSigningKey(signing.kid)))
            if unreadable:  # retired keys only publish their public half: nothing depends on reading them
                self.stdout.write(f"Retired key(s) left unreadable (they never sign again): {', '.join(unreadable)}")
            return
        key = rotate_signing_key(actor=actor)
        self.stdout.write(f"New signing key {key.kid}. Processes pick it up within 30 seconds.")
