"""Celery application: background jobs run by `celery -A listonian_site worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")

app = Celery("listonian_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
