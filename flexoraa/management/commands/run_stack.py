"""Start web, worker and beat together (what `make run` runs) and stop all three on Ctrl-C.

The web server and beat start at once; the worker, which reads every inbound message with the
NLU, starts when `train_nlu --if-missing` has the model ready (on a new machine it trains it,
showing its progress, while the site already answers). Messages that arrive meanwhile wait in
the queue, so none is read without the model.

When PROVIDER_SANDBOX_URL or RAZORPAY_BASE_URL points at this machine (the development
default), the local provider sandbox (Razorpay, Meta's Graph API, Gmail) runs beside them,
posting its signed webhooks to this web server, so buying tokens and messaging leads work end
to end offline."""

import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from flexoraa import stack
from flexoraa.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PEOPLE
from flexoraa.ports import DEFAULT_PORT, busy_port_message, next_free_port, port_in_use

STOP_GRACE_SECONDS = 10


def nlu_ready_command() -> list[str]:
    """Builds the NLU model when this corpus's is missing (else says so) and registers it."""
    return [sys.executable, "manage.py", "train_nlu", "--if-missing"]


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


def provider_sandbox_process(host: str, port: int) -> tuple[list[str], dict, str] | None:
    """``(command, environment, url)`` of the provider sandbox to run beside the web server,
    or None when neither PROVIDER_SANDBOX_URL nor RAZORPAY_BASE_URL is on this machine. It
    listens where PROVIDER_SANDBOX_URL points (else where RAZORPAY_BASE_URL does), reads the
    app's secrets from the same settings, and posts its webhooks to this web server. Never
    where the sandbox app is not installed (production settings leave it out)."""
    if not apps.is_installed("sandbox"):
        return None
    sandbox, razorpay = (urlsplit(settings.PROVIDER_SANDBOX_URL),
                         urlsplit(settings.RAZORPAY_BASE_URL))
    where = sandbox if sandbox.hostname in LOCAL_HOSTS else razorpay
    if where.hostname not in LOCAL_HOSTS:
        return None
    command = [sys.executable, "manage.py", "provider_sandbox", "--host", where.hostname,
               "--port", str(where.port or 80), "--webhook-base", f"http://{host}:{port}"]
    return command, {}, f"{where.scheme}://{where.hostname}:{where.port or 80}"


# Listening on every interface is served to this machine at 127.0.0.1.
ANY_ADDRESS = {"0.0.0.0", "::", ""}  # noqa: S104  (compared against, never bound)


def busy_port_line(host: str, port: int, sandbox_url: str | None) -> str | None:
    """One line saying which port is taken and the `make run` that would start, or None when
    the web server's port (and the provider sandbox's, when it runs) are free."""
    sandbox = urlsplit(sandbox_url) if sandbox_url else None
    sandbox_port = (sandbox.port or 80) if sandbox else None
    if port_in_use(host, port):
        return busy_port_message(host, port, avoid=frozenset({sandbox_port} - {None}))
    if sandbox is None:
        return None
    keep = "" if port == DEFAULT_PORT else f"PORT={port}"
    if sandbox_port == port:
        free = next_free_port(sandbox.hostname, port) or "<a free port>"
        return (f"Port {port} is the provider sandbox's (PROVIDER_SANDBOX_URL); run "
                f"`make run PORT={port} SANDBOX_PORT={free}`.")
    if port_in_use(sandbox.hostname, sandbox_port):
        return busy_port_message(sandbox.hostname, sandbox_port, what="the provider sandbox",
                                 make_variable="SANDBOX_PORT", keep=keep,
                                 avoid=frozenset({port}))
    return None


class Command(BaseCommand):
    help = "Run web, a Celery worker and Celery beat together; Ctrl-C stops all three."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                            help=f"The web server's port (default {DEFAULT_PORT}).")

    def handle(self, *args, host, port, **options):
        sandbox = provider_sandbox_process(host, port)
        busy = busy_port_line(host, port, sandbox[2] if sandbox is not None else None)
        if busy is not None:
            # Before starting anything: one line, not a traceback from each child.
            self.stderr.write(busy)
            sys.exit(1)
        url = f"http://{'127.0.0.1' if host in ANY_ADDRESS else host}:{port}/"
        # Links in emails point at the port actually served, unless SITE_URL says otherwise.
        served_env = {} if "SITE_URL" in os.environ else {"SITE_URL": url.rstrip("/")}
        children: dict[str, subprocess.Popen] = {}
        relays: list[threading.Thread] = []
        stopping = threading.Event()

        def relay(name, stream):
            for line in iter(stream.readline, ""):
                sys.stdout.write(f"[{name:<6}] {line}")
                sys.stdout.flush()

        def start(name, command, extra_env):
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and commands)
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, **served_env, **extra_env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
            children[name] = process
            relays.append(threading.Thread(target=relay, args=(name, process.stdout),
                                           daemon=True))
            relays[-1].start()

        processes = {name: (command, {}) for name, command in stack_processes(host, port).items()}
        # The worker waits for the model; the site does not.
        worker = processes.pop("worker")
        processes["nlu"] = (nlu_ready_command(), {})
        if sandbox is not None:
            processes["sandbox"] = sandbox[:2]
        for name, (command, extra_env) in processes.items():
            start(name, command, extra_env)

        stack.record_address(url.rstrip("/"))
        self.stdout.write(self.style.SUCCESS(f"\nFlexoraa is starting at {url}"))
        self.stdout.write(f"  manager console {url}admin/   API docs {url}api/docs/")
        if sandbox is not None:
            self.stdout.write(f"  Provider sandbox {sandbox[2]}: Razorpay "
                              f"{settings.RAZORPAY_BASE_URL} (buy tokens at {url}billing/; "
                              "its Checkout has Pay / Fail buttons, no real money), Meta "
                              f"{settings.META_GRAPH_URL}, Gmail {settings.GMAIL_API_URL}")
        for username, _first, _last, role, _capacity in DEMO_PEOPLE:
            self.stdout.write(f"  {role:<8} login: {username} / {DEMO_PASSWORD}")
        self.stdout.write("  The worker starts once the NLU model is ready (a new machine trains "
                          "it first); messages wait in the queue until then.")
        self.stdout.write("  Press Ctrl-C to stop web, worker and beat.\n")

        def request_stop(signum, frame):
            stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        failed = None
        while not stopping.is_set():
            ended = next((name for name, process in children.items()
                          if process.poll() is not None), None)
            if ended == "nlu" and children[ended].returncode == 0:
                del children[ended]
                start("worker", *worker)
            elif ended is not None:
                failed, failed_code = ended, children[ended].returncode
                stopping.set()
            stopping.wait(0.5)
        self._stop_all(children)
        stack.forget_address()
        for thread in relays:
            # A child's last lines (why it failed) come before the summary below.
            thread.join(timeout=2)
        if failed:
            self.stderr.write(f"{failed} exited with code {failed_code}; stopped the others.")
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
