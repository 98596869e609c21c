"""Create a staff superuser when there is none, for a first `make run`."""

from django.core.management.base import BaseCommand

from bookings.first_login import ensure_first_superuser


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists. Credentials come from PEMA_ADMIN_USERNAME, "
        "PEMA_ADMIN_EMAIL and PEMA_ADMIN_PASSWORD, or the password is generated; "
        "show_admin_login prints the login."
    )

    def handle(self, *args, **options):
        result = ensure_first_superuser()
        if not result.created:
            self.stdout.write(f"A superuser exists already ({result.username}).")
            return
        if result.show_once:
            message = (
                f"Created superuser {result.username!r} with password {result.show_once}. "
                "It is shown only this once."
            )
        else:
            message = (
                f"Created superuser {result.username!r}; manage.py show_admin_login shows "
                "its login (make run does, last before the processes start)."
            )
        self.stdout.write(self.style.SUCCESS(message))
