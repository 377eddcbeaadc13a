"""The project's Celery app with beat's intervals shortened (SCALEOUT_BEAT_SECONDS, default 2 s),
for the scale-out check (scripts/scaleout.py): same tasks, same broker settings."""
import os

from django.conf import settings

from config.celery import app

every = float(os.environ.get("SCALEOUT_BEAT_SECONDS", "2"))
app.conf.beat_schedule = {name: {**entry, "schedule": every}
                          for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
