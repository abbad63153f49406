"""The real Celery stack: a worker and beat run as subprocesses against Redis and the
PostgreSQL test database, and a declared periodic job runs end to end through them.

Only in the PostgreSQL + Redis pass: the subprocesses need a database and a broker that
another process can reach (the embedded SQLite/filesystem default is for one machine's
`make run`, and the in-memory broker of the first pass is invisible to other processes).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flexoraa.celery import app as celery_app
from flexoraa.jobs import schedules_sync
from flexoraa.models import BeatTick, JobRun
from tests.factories import make_audit_event
from tests.support import needs_postgres, needs_redis

pytestmark = [needs_postgres, needs_redis]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JOB = "flexoraa.audit_chain_check"
# Lets the test find (and wait out) the subprocesses' own database sessions.
APPLICATION_NAME = f"flexoraa-celery-stack-test-{os.getpid()}"
JOB_EVERY_SECONDS = 2
WAIT_FOR_RUN_SECONDS = 60
STOP_GRACE_SECONDS = 10
LOG_TAIL_CHARS = 6000


def _subprocess_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (test_<name>), not the
    database the outer environment names."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    name = quote(db["NAME"], safe="")
    return (f"postgres://{credentials}@{host}{port}/{name}"
            f"?application_name={APPLICATION_NAME}")


def _broker_purge() -> None:
    """Drop messages a previous run left: ready ones in our queues, and unacknowledged ones
    kombu would hand back to the next worker (tasks acknowledge late)."""
    celery_app.control.purge()
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.client.delete(
            channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key
        )


def _start(name: str, args: list[str], log_dir: Path) -> tuple[subprocess.Popen, Path]:
    log_path = log_dir / f"{name}.log"
    env = {
        **os.environ,
        "DATABASE_URL": _subprocess_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "flexoraa", *args, "--loglevel", "INFO"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    return process, log_path


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL the process group on timeout."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for_sessions_closed(timeout: float = 10.0) -> None:
    """Wait until the subprocesses' database sessions are gone (so the test database can be
    flushed now and dropped at the end of the session); end any a killed process left."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
    params = [connection.settings_dict["NAME"], APPLICATION_NAME]
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(query, params)
            pids = [row[0] for row in cursor.fetchall()]
            if not pids or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _logs(logs: dict[str, Path], processes: dict[str, subprocess.Popen]) -> str:
    parts = []
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        if len(text) > LOG_TAIL_CHARS:
            text = "…" + text[-LOG_TAIL_CHARS:]
        parts.append(f"----- {name} (exit code {processes[name].poll()}) -----\n{text}")
    return "\n".join(parts)


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

    _broker_purge()
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
            processes[name], logs[name] = _start(name, args, tmp_path)

        run = None
        deadline = time.monotonic() + WAIT_FOR_RUN_SECONDS
        while time.monotonic() < deadline:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                pytest.fail(f"{', '.join(exited)} exited early\n{_logs(logs, processes)}")
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
                f"beat ticked: {BeatTick.objects.exists()}\n{_logs(logs, processes)}"
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
            _stop(process)
        _wait_for_sessions_closed()
        _broker_purge()
