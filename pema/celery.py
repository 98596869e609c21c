"""The Celery app: tasks are autodiscovered in every installed app's ``tasks.py``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pema.settings")

app = Celery("pema")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
