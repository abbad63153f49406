"""What `make run` starts, started the way a newcomer starts it: migrate, seed, run_stack on
the embedded default in a fresh var/ folder; then Ctrl-C stops web, worker and beat."""

import io
import json
import os
import re
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
import requests
from django.core.management import call_command
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
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ENV",
                          "PROVIDER_SANDBOX_URL", "META_GRAPH_URL", "GMAIL_API_URL"}
           and not key.startswith(("RAZORPAY_", "GOOGLE_"))}
    env["FLEXORAA_VAR_DIR"] = str(var_dir)
    return env


def buy_tokens_through_the_sandbox(base: str, sandbox: str) -> str:
    """What a newcomer does after `make run`: sign in as the demo manager, buy the first
    package, press Pay in the sandbox's Checkout. Returns the wallet page."""
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=10)
    signed_in = browser.post(f"{base}/login/", timeout=10, data={
        "username": "manager", "password": "flexoraa-demo",
        "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert signed_in.url == f"{base}/", signed_in.text[:500]
    wallet = browser.get(f"{base}/billing/", timeout=10).text
    package_id = re.search(r'name="package_id" value="(\d+)"', wallet)[1]
    checkout = browser.post(f"{base}/billing/buy/", timeout=20, data={
        "package_id": package_id, "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert checkout.status_code == 200, checkout.text[:1000]
    assert f'<script src="{sandbox}/checkout.js">' in checkout.text
    options = json.loads(re.search(
        r'<script id="razorpay-options" type="application/json">(.*?)</script>',
        checkout.text, re.S)[1])
    handed = requests.post(f"{sandbox.removesuffix('/v1')}/sandbox/checkout/pay", timeout=10,
                           data=json.dumps({"key": options["key"],
                                            "order_id": options["order_id"]})).json()
    done = browser.post(f"{base}/billing/checkout/callback/", timeout=20, data={
        **handed, "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert done.url == f"{base}/billing/", done.text[:1000]
    return done.text


def test_make_run_serves_the_app_and_stops_cleanly_on_ctrl_c(tmp_path):
    env = embedded_env(tmp_path / "var")
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([*manage, *step], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
    port = free_port()
    sandbox_root = f"http://127.0.0.1:{free_port()}"
    sandbox = f"{sandbox_root}/v1"
    # The sandbox's own free port, beside other runs; every provider URL follows it.
    env["PROVIDER_SANDBOX_URL"] = sandbox_root
    env["RAZORPAY_BASE_URL"] = sandbox
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
        # Tools on this machine (simulate_leads) find the stack at the port it serves.
        recorded = json.loads((tmp_path / "var" / "stack.json").read_text())
        assert recorded == {"url": base, "pid": stack.pid}
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

        # Buying tokens works offline: the sandbox answers the app and signs its webhooks,
        # which the web server stores and the worker processes (once, after the callback).
        assert get(f"{sandbox}/checkout.js")[0] == 200
        wallet = buy_tokens_through_the_sandbox(base, sandbox)
        assert 'data-testid="wallet-balance">10,000<' in wallet
        deadline = time.monotonic() + 60
        processed = 0
        while time.monotonic() < deadline and processed < 2:
            with sqlite3.connect(tmp_path / "var" / "flexoraa.sqlite3") as db:
                (processed,) = db.execute(
                    "SELECT COUNT(*) FROM flexoraa_webhookdelivery WHERE provider = 'razorpay' "
                    "AND processed_at IS NOT NULL").fetchone()
            time.sleep(0.5)
        assert processed == 2, log_path.read_text()[-3000:]
        with sqlite3.connect(tmp_path / "var" / "flexoraa.sqlite3") as db:
            (credits,) = db.execute("SELECT COUNT(*) FROM billing_tokenledgerentry "
                                    "WHERE reason = 'purchase'").fetchone()
        assert credits == 1

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait()
    output = log_path.read_text()
    assert not (tmp_path / "var" / "stack.json").exists()
    assert f"Flexoraa is starting at {base}/" in output
    # The worker started once the NLU step had the model (built here already, so at once).
    assert "is already built." in output
    assert output.index("[nlu   ]") < output.index("[worker]")
    assert "manager  login: manager / flexoraa-demo" in output
    assert "Stopped web, worker and beat." in output
    assert f"Provider sandbox {sandbox_root}: Razorpay {sandbox} (buy tokens at" in output
    assert f"Meta {sandbox_root}/graph/v21.0" in output
    assert "Provider sandbox stopped." in output
    with pytest.raises(OSError):
        get(f"{base}/healthz")
    with pytest.raises(OSError):
        get(f"{sandbox}/checkout.js")


def test_run_stack_starts_the_provider_sandbox_only_when_it_is_on_this_machine(settings):
    from flexoraa.management.commands.run_stack import provider_sandbox_process

    settings.PROVIDER_SANDBOX_URL = "http://127.0.0.1:8123"
    command, extra_env, url = provider_sandbox_process("127.0.0.1", 8000)
    assert command[1:] == ["manage.py", "provider_sandbox", "--host", "127.0.0.1",
                           "--port", "8123", "--webhook-base", "http://127.0.0.1:8000"]
    # The command reads the secrets from the app's own settings; nothing is passed along.
    assert extra_env == {}
    assert url == "http://127.0.0.1:8123"

    settings.PROVIDER_SANDBOX_URL = "https://sandbox.example.com"
    settings.RAZORPAY_BASE_URL = "http://localhost:8124/v1"
    assert provider_sandbox_process("127.0.0.1", 8000)[2] == "http://localhost:8124"

    settings.RAZORPAY_BASE_URL = "https://api.razorpay.com/v1"
    assert provider_sandbox_process("127.0.0.1", 8000) is None


def test_run_stack_on_a_taken_port_says_so_in_one_line_and_starts_nothing(tmp_path):
    env = embedded_env(tmp_path / "var")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env["PROVIDER_SANDBOX_URL"] = f"http://127.0.0.1:{free_port()}"
        done = subprocess.run([sys.executable, "manage.py", "run_stack", "--port", str(port)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Port {port} is in use; run `make run PORT=")
    assert "Flexoraa is starting" not in done.stdout
    assert not (tmp_path / "var" / "stack.json").exists()


@pytest.fixture
def quick_stack(monkeypatch, settings, tmp_path):
    """run_stack with stand-ins for its processes: web and beat sleep, the NLU step and the
    worker are what each test says. No provider sandbox (its URLs are not on this machine)."""
    from flexoraa.management.commands import run_stack

    settings.VAR_DIR = tmp_path
    settings.PROVIDER_SANDBOX_URL = "https://sandbox.example.com"
    settings.RAZORPAY_BASE_URL = "https://api.razorpay.com/v1"
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run(nlu_code: str, worker_code: str) -> tuple[int, str]:
        monkeypatch.setattr(run_stack, "nlu_ready_command",
                            lambda: [sys.executable, "-c", nlu_code])
        monkeypatch.setattr(run_stack, "stack_processes", lambda host, port: {
            "web": sleeper, "worker": [sys.executable, "-c", worker_code], "beat": sleeper})
        messages = io.StringIO()
        try:
            call_command("run_stack", "--port", str(free_port()), stdout=messages,
                         stderr=messages)
            code = 0
        except SystemExit as stop:
            code = stop.code
        return code, messages.getvalue()

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def test_the_worker_starts_only_once_the_nlu_model_is_ready(quick_stack, capfd):
    # The worker stand-in exits at once, which stops the stack: its line must come after
    # the model's.
    code, messages = quick_stack(
        "import time; time.sleep(1); print('model ready')",
        "print('worker up'); raise SystemExit(5)")
    relayed = capfd.readouterr().out
    assert code == 1 and "worker exited with code 5; stopped the others." in messages
    assert "The worker starts once the NLU model is ready" in messages
    assert relayed.index("[nlu   ] model ready") < relayed.index("[worker] worker up")


def test_a_failed_nlu_step_stops_the_stack_and_the_worker_never_starts(quick_stack, capfd):
    code, messages = quick_stack("print('corpus unreadable'); raise SystemExit(3)",
                                 "print('worker up')")
    relayed = capfd.readouterr().out
    assert code == 1 and "nlu exited with code 3; stopped the others." in messages
    assert "[nlu   ] corpus unreadable" in relayed and "worker up" not in relayed
