"""The Celery app. Workers pull S3 files and run loads; beat ticks the scheduler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")

app = Celery("amperity_sources")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "scheduler-tick": {"task": "courier_groups.tick", "schedule": 60.0},
    "runs-watchdog": {"task": "couriers.watchdog", "schedule": 60.0},
}
