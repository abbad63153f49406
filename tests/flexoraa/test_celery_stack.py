"""The real Celery stack: a worker and beat run as subprocesses against Redis and the
PostgreSQL test database, and a declared periodic job runs end to end through them.

Only in the PostgreSQL + Redis pass: the subprocesses need a database and a broker that
another process can reach (the embedded SQLite/filesystem default is for one machine's
`make run`, and the in-memory broker of the first pass is invisible to other processes).
"""

import subprocess
import time
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flexoraa.jobs import schedules_sync
from flexoraa.models import BeatTick, JobRun
from tests.factories import make_audit_event
from tests.flexoraa.stack_support import (
    broker_purge,
    stack_logs,
    stack_start,
    stack_stop,
    wait_for_sessions_closed,
)
from tests.support import needs_postgres, needs_redis

pytestmark = [needs_postgres, needs_redis]

JOB = "flexoraa.audit_chain_check"
JOB_EVERY_SECONDS = 2
WAIT_FOR_RUN_SECONDS = 60


def test_beat_sends_declared_job_and_worker_runs_it(transactional_db, org, client, tmp_path):
    for n in range(3):
        make_audit_event(org, action=f"test.event.{n}", data={"n": n})

    # The declared job runs hourly; a manager shortens it in the admin. Beat's own
    # schedules_sync at start-up must keep that edit, or the job would not run in time.
    schedules_sync()
    every_two_seconds, _ = IntervalSchedule.objects.get_or_create(
        every=JOB_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    periodic_task = PeriodicTask.objects.get(name=JOB)
    periodic_task.interval = every_two_seconds
    periodic_task.save()

    broker_purge()
    started_at = periodic_task.date_changed
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for name, args in {
            "worker": ["worker", "-Q", "webhooks,ai,periodic,default", "--concurrency", "1",
                       "--pool", "solo", "-n", "test-worker@%h",
                       "--without-mingle", "--without-gossip"],
            "beat": ["beat", "--schedule", str(tmp_path / "celerybeat-schedule"),
                     "--pidfile", str(tmp_path / "celerybeat.pid")],
        }.items():
            processes[name], logs[name] = stack_start(name, args, tmp_path)

        run = None
        deadline = time.monotonic() + WAIT_FOR_RUN_SECONDS
        while time.monotonic() < deadline:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                pytest.fail(f"{', '.join(exited)} exited early\n{stack_logs(logs, processes)}")
            run = JobRun.objects.filter(
                name=JOB, outcome=JobRun.Outcome.SUCCEEDED, started_at__gte=started_at
            ).first()
            if run is not None and BeatTick.objects.filter(pk=1).exists():
                break
            time.sleep(0.5)
        else:
            pytest.fail(
                f"no succeeded {JOB} run and beat tick within {WAIT_FOR_RUN_SECONDS}s; "
                f"runs: {list(JobRun.objects.values('name', 'outcome', 'detail'))}; "
                f"beat ticked: {BeatTick.objects.exists()}\n{stack_logs(logs, processes)}"
            )

        assert run.detail == {"broken": {}}, run.detail
        assert run.finished_at is not None and run.finished_at >= run.started_at
        periodic_task.refresh_from_db()
        assert periodic_task.interval_id == every_two_seconds.pk, (
            "beat's start-up sync replaced the manager's schedule"
        )

        response = client.get("/healthz")
        body = response.json()
        assert response.status_code == 200, body
        assert body["checks"]["beat"]["ok"] is True, body
        assert body["checks"]["broker"]["ok"] is True, body
    finally:
        for process in processes.values():
            stack_stop(process)
        wait_for_sessions_closed()
        broker_purge()
