"""Creating django-celery-beat schedules idempotently.

A schedule is created once with the given interval; after that it belongs to
staff (the Periodic tasks admin), so running the setup again never undoes
their edits. Pass ``update=True`` to force the interval and enabled flag.
"""

from __future__ import annotations

import json


def ensure_periodic_task(
    *,
    name: str,
    task: str,
    every_minutes: int = 0,
    enabled: bool,
    every_seconds: int = 0,
    args: list | None = None,
    update: bool = False,
):
    from django.db.utils import OperationalError, ProgrammingError
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    try:
        if every_seconds:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=max(every_minutes, 1), period=IntervalSchedule.MINUTES
            )
        periodic, created = PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                "enabled": enabled,
                "args": json.dumps(args or []),
            },
        )
    except (OperationalError, ProgrammingError):
        return None  # tables not migrated yet (post_migrate of an earlier app)
    if update and not created:
        periodic.interval = interval
        periodic.enabled = enabled
        periodic.task = task
        periodic.args = json.dumps(args or [])
        periodic.save()
    return periodic


def ensure_crontab_task(
    *,
    name: str,
    task: str,
    cron: str,
    enabled: bool,
    args: list | None = None,
    timezone: str = "UTC",
    update: bool = False,
):
    """A beat entry on a cron expression (``minute hour day month weekday``), created once.

    As :func:`ensure_periodic_task`: after creation it belongs to staff (they edit the
    crontab in the admin); ``update=True`` forces the expression. ``ValueError`` for an
    expression that is not five fields.
    """
    from django.db.utils import OperationalError, ProgrammingError
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"A cron expression has five fields: {cron!r}.")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=timezone,
        )
        periodic, created = PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": crontab,
                "enabled": enabled,
                "args": json.dumps(args or []),
            },
        )
    except (OperationalError, ProgrammingError):
        return None  # tables not migrated yet
    if update and not created:
        periodic.interval = None
        periodic.crontab = crontab
        periodic.enabled = enabled
        periodic.task = task
        periodic.args = json.dumps(args or [])
        periodic.save()
    return periodic
