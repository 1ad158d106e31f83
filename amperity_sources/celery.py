"""The Celery app. Workers pull S3 files and run loads; beat ticks the scheduler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")

app = Celery("amperity_sources")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _seconds(name: str, default: float) -> float:
    """From the environment (see README), not from Django's settings: importing the Celery
    app must not configure Django before the launcher or a benchmark has set DATABASE_URL."""
    return float(os.environ.get(name) or default)


app.conf.beat_schedule = {
    "scheduler-tick": {"task": "courier_groups.tick", "schedule": 60.0},
    # Runs requested while the task queue was down start within seconds of its return.
    "runs-dispatch": {
        "task": "couriers.dispatch",
        "schedule": _seconds("SOURCES_DISPATCH_SECONDS", 5),
        "options": {"expires": 30},
    },
    # Dead workers' runs are noticed within SOURCES_RUN_STALE_SECONDS plus this.
    "runs-watchdog": {
        "task": "couriers.watchdog",
        "schedule": _seconds("SOURCES_WATCHDOG_SECONDS", 10),
        "options": {"expires": 60},
    },
    "retention": {"task": "sources.retention", "schedule": 6 * 3600.0},
}
