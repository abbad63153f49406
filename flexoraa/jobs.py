"""Periodic jobs: how apps declare them, how they are synced into django-celery-beat, and
how a run is kept from overlapping another run of the same job.

Each app lists its jobs in ``<app>/schedules.py`` as ``SCHEDULES = [PeriodicJob(...)]``.
``schedules_sync`` creates the missing ones by name and leaves existing rows as they are,
so a manager's edits in the admin survive every deploy.
"""

import importlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flexoraa.models import JobLease, JobRun

logger = logging.getLogger(__name__)

PERIODIC_QUEUE = "periodic"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    description: str
    every: timedelta | None = None
    # crontab fields in UTC, e.g. {"minute": "0", "hour": "0", "day_of_week": "sun"}
    crontab: dict = field(default_factory=dict)

    def __post_init__(self):
        if (self.every is None) == (not self.crontab):
            raise ValueError(f"Job {self.name} needs exactly one of every= or crontab=.")


def describe_every(period: timedelta) -> str:
    """A person's words for an interval: "every hour", "every 5 minutes"."""
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return "every 0 seconds"


def declared_jobs() -> list[PeriodicJob]:
    """Every job declared in an installed app's ``schedules.py``."""
    jobs: list[PeriodicJob] = []
    for app_config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app_config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.schedules":
                raise
            continue
        jobs.extend(getattr(module, "SCHEDULES", []))
    names = [job.name for job in jobs]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"Periodic jobs declared twice: {', '.join(sorted(duplicates))}")
    return jobs


@dataclass(frozen=True)
class SyncReport:
    created: list[str]
    kept: list[str]
    undeclared: list[str]


def schedules_sync() -> SyncReport:
    """Create a django-celery-beat row for each declared job that has none; keep the rest."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created, kept = [], []
    jobs = declared_jobs()
    with transaction.atomic():
        existing = set(
            PeriodicTask.objects.filter(name__in=[job.name for job in jobs]).values_list(
                "name", flat=True
            )
        )
        for job in jobs:
            if job.name in existing:
                kept.append(job.name)
                continue
            schedule = {}
            if job.every is not None:
                schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=int(job.every.total_seconds()), period=IntervalSchedule.SECONDS
                )
            else:
                fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*",
                          "month_of_year": "*", **job.crontab}
                schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    timezone="UTC", **fields
                )
            PeriodicTask.objects.create(
                name=job.name, task=job.task, queue=PERIODIC_QUEUE,
                description=job.description, **schedule,
            )
            created.append(job.name)
        declared_names = {job.name for job in jobs}
        undeclared = sorted(
            name for name in PeriodicTask.objects.exclude(name__startswith="celery.")
            .values_list("name", flat=True) if name not in declared_names
        )
    return SyncReport(created=created, kept=kept, undeclared=undeclared)


def _lease_ttl() -> timedelta:
    # A hard-killed task cannot outlive its time limit, so neither may its lease.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def lease_acquire(name: str) -> str | None:
    """Take the job's lease; returns the holder id, or None when another run holds it.

    One conditional UPDATE of an expired lease, else one INSERT on the unique name: both are
    arbitrated by the database, so two workers never both win (PostgreSQL and SQLite alike).
    """
    holder = uuid.uuid4().hex
    now = timezone.now()
    expires_at = now + _lease_ttl()
    with transaction.atomic():
        taken = JobLease.objects.filter(name=name, expires_at__lt=now).update(
            holder=holder, expires_at=expires_at
        )
        if taken:
            return holder
        try:
            with transaction.atomic():
                JobLease.objects.create(name=name, holder=holder, expires_at=expires_at)
        except IntegrityError:
            return None
    return holder


def lease_release(name: str, holder: str) -> None:
    JobLease.objects.filter(name=name, holder=holder).delete()


def job_run(name: str, work: Callable[[], dict | None]) -> dict:
    """Run ``work`` unless another run of the same job is under way, recording the run."""
    holder = lease_acquire(name)
    if holder is None:
        logger.info("job skipped: already running", extra={"job": name})
        return {"skipped": True}
    run = JobRun.objects.create(name=name, started_at=timezone.now())
    try:
        detail = work() or {}
    except Exception:
        run.outcome = JobRun.Outcome.FAILED
        run.finished_at = timezone.now()
        run.save(update_fields=["outcome", "finished_at"])
        logger.exception("job failed", extra={"job": name})
        raise
    finally:
        lease_release(name, holder)
    run.outcome = JobRun.Outcome.SUCCEEDED
    run.finished_at = timezone.now()
    run.detail = detail
    run.save(update_fields=["outcome", "finished_at", "detail"])
    return detail
