"""Re-encrypt every stored secret with the newest key in SOURCES_SECRET_KEYS.

Rotation: put the new key first in SOURCES_SECRET_KEYS (keep the old one after it), run this
command, then remove the old key.
"""

from django.core.management.base import BaseCommand

from credentials.services import credential_rotate_all


class Command(BaseCommand):
    help = "Re-encrypt all credential secrets with the first (newest) key in SOURCES_SECRET_KEYS."

    def handle(self, *args, **options):
        count = credential_rotate_all()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the secrets of {count} credential(s).")
            + " You may now remove the old key from SOURCES_SECRET_KEYS."
        )
