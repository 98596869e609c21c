"""Create a staff superuser when there is none, for a first `make run`."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists. Credentials come from PEMA_ADMIN_USERNAME, "
        "PEMA_ADMIN_EMAIL and PEMA_ADMIN_PASSWORD, or are generated and printed once."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already.")
            return
        username = os.environ.get("PEMA_ADMIN_USERNAME", "admin")
        email = os.environ.get("PEMA_ADMIN_EMAIL", "admin@example.com")
        password = os.environ.get("PEMA_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        shown = (
            password if "PEMA_ADMIN_PASSWORD" not in os.environ else "(from PEMA_ADMIN_PASSWORD)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created superuser {username!r} with password {shown}. It is shown only this once."
            )
        )
