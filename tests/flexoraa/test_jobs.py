import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flexoraa import jobs
from flexoraa.models import JobLease, JobRun
from tests.support import needs_postgres


@pytest.mark.django_db
def test_every_declared_job_is_in_beats_table_after_migrate():
    # pytest-django migrated the test database, which ran the sync.
    declared = {job.name: job for job in jobs.declared_jobs()}
    assert "flexoraa.audit_chain_check" in declared
    rows = {task.name: task for task in PeriodicTask.objects.filter(name__in=declared)}
    assert set(rows) == set(declared)
    row = rows["flexoraa.audit_chain_check"]
    assert row.task == "flexoraa.audit_chain_check"
    assert row.queue == "periodic"
    assert row.interval.every == 3600 and row.interval.period == IntervalSchedule.SECONDS


@pytest.mark.django_db
def test_a_managers_edit_survives_sync_and_migrate():
    task = PeriodicTask.objects.get(name="flexoraa.audit_chain_check")
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    task.enabled = False
    task.save()
    report = jobs.schedules_sync()
    call_command("migrate", verbosity=0)
    assert "flexoraa.audit_chain_check" in report.kept
    task.refresh_from_db()
    assert (task.interval.every, task.interval.period, task.enabled) == (15, "minutes", False)


@pytest.mark.django_db
def test_a_deleted_job_row_is_recreated_by_sync():
    PeriodicTask.objects.filter(name="flexoraa.audit_chain_check").delete()
    report = jobs.schedules_sync()
    assert report.created == ["flexoraa.audit_chain_check"]
    assert PeriodicTask.objects.filter(name="flexoraa.audit_chain_check").exists()


def test_a_job_needs_exactly_one_kind_of_schedule():
    with pytest.raises(ValueError, match="exactly one"):
        jobs.PeriodicJob(name="x", task="x", description="x")
    with pytest.raises(ValueError, match="exactly one"):
        jobs.PeriodicJob(name="x", task="x", description="x", every=timedelta(minutes=1),
                         crontab={"minute": "0"})


@pytest.mark.django_db
def test_a_second_runner_is_refused_while_the_lease_holds():
    holder = jobs.lease_acquire("demo.job")
    assert holder is not None
    assert jobs.lease_acquire("demo.job") is None
    jobs.lease_release("demo.job", holder)
    assert jobs.lease_acquire("demo.job") is not None


@pytest.mark.django_db
def test_an_expired_lease_of_a_crashed_runner_is_taken_over():
    crashed = jobs.lease_acquire("demo.job")
    JobLease.objects.filter(name="demo.job").update(expires_at=timezone.now() - timedelta(1))
    successor = jobs.lease_acquire("demo.job")
    assert successor not in (None, crashed)
    jobs.lease_release("demo.job", crashed)  # the crashed runner's late release changes nothing
    assert JobLease.objects.get(name="demo.job").holder == successor


@pytest.mark.django_db
def test_job_run_records_success_and_releases_the_lease():
    assert jobs.job_run("demo.job", lambda: {"rows": 3}) == {"rows": 3}
    run = JobRun.objects.get(name="demo.job")
    assert run.outcome == JobRun.Outcome.SUCCEEDED and run.detail == {"rows": 3}
    assert run.finished_at >= run.started_at
    assert not JobLease.objects.filter(name="demo.job").exists()


@pytest.mark.django_db
def test_job_run_records_failure_and_releases_the_lease():
    def explode():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        jobs.job_run("demo.job", explode)
    assert JobRun.objects.get(name="demo.job").outcome == JobRun.Outcome.FAILED
    assert not JobLease.objects.filter(name="demo.job").exists()


@pytest.mark.django_db
def test_job_run_skips_while_another_run_holds_the_lease():
    holder = jobs.lease_acquire("demo.job")
    calls = []
    assert jobs.job_run("demo.job", lambda: calls.append(1)) == {"skipped": True}
    assert calls == [] and not JobRun.objects.filter(name="demo.job").exists()
    jobs.lease_release("demo.job", holder)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_one_job_never_overlap_on_postgres():
    """Eight threads, each with its own connection, start the same job at once."""
    running, overlaps, ran = [0], [], []
    guard = threading.Lock()
    start = threading.Barrier(8)

    def work():
        with guard:
            running[0] += 1
            if running[0] > 1:
                overlaps.append(running[0])
        time.sleep(0.3)
        with guard:
            running[0] -= 1
        ran.append(1)

    def runner():
        try:
            start.wait()
            jobs.job_run("demo.concurrent", work)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert len(ran) == JobRun.objects.filter(name="demo.concurrent").count() >= 1
    assert len(ran) < 8


@pytest.mark.parametrize(("period", "words"), [
    (timedelta(hours=1), "every hour"), (timedelta(minutes=5), "every 5 minutes"),
    (timedelta(days=7), "every 7 days"), (timedelta(seconds=90), "every 90 seconds"),
    (timedelta(minutes=1), "every minute"),
])
def test_intervals_are_described_in_words(period, words):
    assert jobs.describe_every(period) == words


@pytest.mark.django_db
def test_the_jobs_overview_shows_schedule_and_latest_outcome():
    from flexoraa.selectors import periodic_jobs_overview

    jobs.job_run("flexoraa.audit_chain_check", lambda: {})
    (row,) = [job for job in periodic_jobs_overview() if job.name == "flexoraa.audit_chain_check"]
    assert (row.schedule, row.last_outcome, row.enabled) == ("every hour", "succeeded", True)
