"""Start web, worker and beat together (what `make run` runs) and stop all three on Ctrl-C.

When RAZORPAY_BASE_URL points at this machine (the development default), the local Razorpay
sandbox runs beside them, posting its webhooks to this web server, so buying tokens works end
to end offline."""

import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from flexoraa.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PEOPLE

STOP_GRACE_SECONDS = 10


def stack_processes(host: str, port: int) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [python, "-m", "celery", "-A", "flexoraa", "worker",
                   "-Q", "webhooks,ai,periodic,default", "--concurrency", "2",
                   "--loglevel", "INFO", "--hostname", "worker@%h"],
        "beat": [python, "-m", "celery", "-A", "flexoraa", "beat", "--loglevel", "INFO"],
    }


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def razorpay_sandbox_process(host: str, port: int) -> tuple[list[str], dict, str] | None:
    """``(command, environment, api url)`` of the Razorpay sandbox to run beside the web
    server, or None when RAZORPAY_BASE_URL is not on this machine."""
    api = urlsplit(settings.RAZORPAY_BASE_URL)
    if api.hostname not in LOCAL_HOSTS:
        return None
    command = [sys.executable, "-m", "flexoraa.sandbox.server", "--host", api.hostname,
               "--port", str(api.port or 80),
               "--webhook-url", f"http://{host}:{port}/webhooks/razorpay/"]
    credentials = {"RAZORPAY_KEY_ID": settings.RAZORPAY_KEY_ID,
                   "RAZORPAY_KEY_SECRET": settings.RAZORPAY_KEY_SECRET,
                   "RAZORPAY_WEBHOOK_SECRET": settings.RAZORPAY_WEBHOOK_SECRET}
    return command, credentials, settings.RAZORPAY_BASE_URL


class Command(BaseCommand):
    help = "Run web, a Celery worker and Celery beat together; Ctrl-C stops all three."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        children: dict[str, subprocess.Popen] = {}
        stopping = threading.Event()

        def relay(name, stream):
            for line in iter(stream.readline, ""):
                sys.stdout.write(f"[{name:<6}] {line}")
                sys.stdout.flush()

        processes = {name: (command, {}) for name, command in stack_processes(host, port).items()}
        sandbox = razorpay_sandbox_process(host, port)
        if sandbox is not None:
            processes["sandbox"] = sandbox[:2]
        for name, (command, extra_env) in processes.items():
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and commands)
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, **extra_env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
            children[name] = process
            threading.Thread(target=relay, args=(name, process.stdout), daemon=True).start()

        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nFlexoraa is starting at {url}"))
        self.stdout.write(f"  manager console {url}admin/   API docs {url}api/docs/")
        if sandbox is not None:
            self.stdout.write(f"  Razorpay sandbox {sandbox[2]} (buy tokens at {url}billing/; "
                              "its Checkout has Pay / Fail buttons, no real money)")
        for username, _first, _last, role, _capacity in DEMO_PEOPLE:
            self.stdout.write(f"  {role:<8} login: {username} / {DEMO_PASSWORD}")
        self.stdout.write("  Press Ctrl-C to stop web, worker and beat.\n")

        def request_stop(signum, frame):
            stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        failed = None
        while not stopping.is_set():
            for name, process in children.items():
                if process.poll() is not None:
                    failed = name
                    stopping.set()
                    break
            stopping.wait(0.5)
        self._stop_all(children)
        if failed:
            self.stderr.write(f"{failed} exited with code {children[failed].returncode}; "
                              "stopped the others.")
            sys.exit(1)
        self.stdout.write("Stopped web, worker and beat.")

    def _stop_all(self, children):
        # Only the main processes: Celery stops its own pool in a warm shutdown.
        for process in children.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
