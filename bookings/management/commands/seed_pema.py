"""Create the Pema Wellness hotel, its 76 rooms, two rate plans and its calendar."""

from django.core.management.base import BaseCommand

from bookings.seed import seed_pema_wellness


class Command(BaseCommand):
    help = "Load the Pema Wellness hotel (code PEMA) if absent; running again changes nothing."

    def handle(self, *args, **options):
        report = seed_pema_wellness()
        for note in dict.fromkeys(report.notes):
            self.stdout.write(note)
        made = {k: v for k, v in report.created.items() if v}
        if made:
            summary = ", ".join(f"{v} {k}" for k, v in made.items())
            self.stdout.write(self.style.SUCCESS(f"Pema Wellness: created {summary}."))
        else:
            self.stdout.write("Pema Wellness is already loaded: nothing changed.")
