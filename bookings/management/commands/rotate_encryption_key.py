"""``manage.py rotate_encryption_key``: re-encrypt every stored secret with the current key."""

from django.core.management.base import BaseCommand, CommandError

from pema.crypto import KeyRotationError, reencrypt_all


class Command(BaseCommand):
    help = (
        "Rewrite every encrypted field of every model with FIELD_ENCRYPTION_KEY. Values "
        "written with an older key are read with FIELD_ENCRYPTION_KEYS; afterwards those "
        "keys can be removed. All or nothing, in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only report what would be rewritten."
        )

    def handle(self, *args, dry_run: bool, **options):
        try:
            report = reencrypt_all(dry_run=dry_run)
        except KeyRotationError as exc:
            raise CommandError(f"Nothing was changed. {exc}") from exc
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for name in sorted(set(report.rewritten) | set(report.current)):
            self.stdout.write(
                f"{name}: {verb} {report.rewritten.get(name, 0)}, "
                f"already under the current key {report.current.get(name, 0)}"
            )
        if not dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    "Done: every secret is under FIELD_ENCRYPTION_KEY; FIELD_ENCRYPTION_KEYS "
                    "can be emptied."
                )
            )
