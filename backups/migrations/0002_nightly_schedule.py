"""Create the nightly backup-and-prune schedule, once.

A data migration rather than a post_migrate hook, so it runs a single time:
staff may then change the time, disable or delete the task in the admin
(Periodic tasks) and a later `migrate` will not put it back.
"""

from django.db import migrations

TASK_NAME = "Nightly backup and prune"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="backups.nightly_backup",
        crontab=crontab,
        description="A full backup of the database at 02:30 UTC, then pruning of old backups.",
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
