"""Periodic jobs of this app, synced into django-celery-beat by name."""

SCHEDULES = []
