"""Print the admin URL, username and password: `make run` runs it last, before honcho."""

from django.core.management.base import BaseCommand

from bookings.first_login import admin_login


class Command(BaseCommand):
    help = (
        "Show where to sign in to the admin, the first superuser's username and, while it "
        "still works, the generated password, and how to change it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", help="The web port (default PEMA_WEB_PORT, else 8000).")

    def handle(self, *args, port=None, **options):
        lines = admin_login(port).lines()
        rule = "=" * max(len(line) for line in lines)
        self.stdout.write(rule)
        for line in lines:
            self.stdout.write(self.style.SUCCESS(line))
        self.stdout.write(rule)
