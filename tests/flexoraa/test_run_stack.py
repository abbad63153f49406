"""What `make run` starts, started the way a newcomer starts it: migrate, seed, run_stack on
the embedded default in a fresh var/ folder; then Ctrl-C stops web, worker and beat."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the embedded default runs in the first pass"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (localhost)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def embedded_env(var_dir: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ENV"}}
    env["FLEXORAA_VAR_DIR"] = str(var_dir)
    return env


def test_make_run_serves_the_app_and_stops_cleanly_on_ctrl_c(tmp_path):
    env = embedded_env(tmp_path / "var")
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([*manage, *step], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
    port = free_port()
    log_path = tmp_path / "stack.log"
    with log_path.open("w") as log:
        stack = subprocess.Popen(
            [*manage, "run_stack", "--port", str(port)], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        status, body = None, b""
        while time.monotonic() < deadline:
            try:
                status, body = get(f"{base}/healthz")
            except OSError:
                status = None
            if status == 200:
                break
            assert stack.poll() is None, log_path.read_text()
            time.sleep(0.5)
        assert status == 200, (body, log_path.read_text()[-3000:])
        health = json.loads(body)
        assert health["checks"]["broker"]["transport"] == "filesystem"
        assert health["checks"]["database"]["vendor"] == "sqlite"

        assert get(f"{base}/admin/login/")[0] == 200
        status, schema = get(f"{base}/api/schema/?format=json")
        assert status == 200
        validate(json.loads(schema))

        with sqlite3.connect(tmp_path / "var" / "flexoraa.sqlite3") as db:
            rows = db.execute("SELECT name FROM django_celery_beat_periodictask")
            jobs = {name for (name,) in rows}
        assert "flexoraa.audit_chain_check" in jobs

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait()
    output = log_path.read_text()
    assert "Flexoraa is starting at" in output
    assert "manager  login: manager / flexoraa-demo" in output
    assert "Stopped web, worker and beat." in output
    with pytest.raises(OSError):
        get(f"{base}/healthz")
