"""Start web, worker and beat together (what `make run` runs) and stop all three on Ctrl-C."""

import os
import signal
import subprocess
import sys
import threading
import time

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

        for name, command in stack_processes(host, port).items():
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and commands)
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
            )
            children[name] = process
            threading.Thread(target=relay, args=(name, process.stdout), daemon=True).start()

        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nFlexoraa is starting at {url}"))
        self.stdout.write(f"  manager console {url}admin/   API docs {url}api/docs/")
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
