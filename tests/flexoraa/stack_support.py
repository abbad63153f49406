"""A real Celery worker and beat as subprocesses against Redis and the PostgreSQL test
database, for the tests that need the running stack (PostgreSQL + Redis pass only)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from flexoraa.celery import app as celery_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Lets the test find (and wait out) the subprocesses' own database sessions.
APPLICATION_NAME = f"flexoraa-celery-stack-test-{os.getpid()}"
STOP_GRACE_SECONDS = 10
LOG_TAIL_CHARS = 6000


def subprocess_database_url() -> str:
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


def broker_purge() -> None:
    """Drop messages a previous run left: ready ones in our queues, and unacknowledged ones
    kombu would hand back to the next worker (tasks acknowledge late)."""
    celery_app.control.purge()
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.client.delete(
            channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key
        )


def stack_start(name: str, args: list[str], log_dir: Path) -> tuple[subprocess.Popen, Path]:
    log_path = log_dir / f"{name}.log"
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "flexoraa", *args, "--loglevel", "INFO"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    return process, log_path


def stack_stop(process: subprocess.Popen) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL the process group on timeout."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_sessions_closed(timeout: float = 10.0) -> None:
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


def stack_logs(logs: dict[str, Path], processes: dict[str, subprocess.Popen]) -> str:
    parts = []
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        if len(text) > LOG_TAIL_CHARS:
            text = "…" + text[-LOG_TAIL_CHARS:]
        parts.append(f"----- {name} (exit code {processes[name].poll()}) -----\n{text}")
    return "\n".join(parts)
