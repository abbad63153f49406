"""A taken port is found before anything starts, and the line says which `make run` would."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flexoraa import ports
from flexoraa.management.commands.run_stack import busy_port_line

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening():
    """A port something listens on, as another engineer's server would."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_listening_port_is_in_use_and_a_closed_one_is_not(listening):
    assert ports.port_in_use("127.0.0.1", listening)
    assert not ports.port_in_use("127.0.0.1", free_port())


def test_the_suggested_port_is_free_and_not_one_to_avoid(listening):
    message = ports.busy_port_message("127.0.0.1", listening,
                                      avoid=frozenset({listening + 1}))
    suggested = int(message.split("PORT=")[1].rstrip("`."))
    assert message == f"Port {listening} is in use; run `make run PORT={suggested}`."
    assert suggested > listening + 1 and not ports.port_in_use("127.0.0.1", suggested)


def test_run_stack_names_the_taken_web_port(listening):
    line = busy_port_line("127.0.0.1", listening, "http://127.0.0.1:8010")
    assert line.startswith(f"Port {listening} is in use; run `make run PORT=")


def test_run_stack_names_the_taken_sandbox_port_and_keeps_the_web_port(listening):
    web = free_port()
    line = busy_port_line("127.0.0.1", web, f"http://127.0.0.1:{listening}")
    assert line.startswith(f"Port {listening} (the provider sandbox) is in use; run "
                           f"`make run PORT={web} SANDBOX_PORT=")


def test_a_web_port_that_is_the_sandbox_port_asks_to_move_the_sandbox():
    web = free_port()
    line = busy_port_line("127.0.0.1", web, f"http://127.0.0.1:{web}")
    assert line.startswith(f"Port {web} is the provider sandbox's (PROVIDER_SANDBOX_URL); run "
                           f"`make run PORT={web} SANDBOX_PORT=")


def test_free_ports_and_no_sandbox_start_the_stack():
    assert busy_port_line("127.0.0.1", free_port(), None) is None
    assert busy_port_line("127.0.0.1", free_port(), f"http://127.0.0.1:{free_port()}") is None


def test_make_run_stops_at_a_taken_port_before_the_install_with_one_line(listening, tmp_path):
    # VENV points at an empty folder: the check must come before any install would start.
    done = subprocess.run(["make", "--no-print-directory", "run", f"PORT={listening}",
                           f"VENV={tmp_path / 'venv'}", f"PYTHON={sys.executable}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"Port {listening} is in use; run `make run PORT=")
    assert "Traceback" not in done.stderr and len(lines) == 2  # and make's own "Error 1"
    assert not (tmp_path / "venv").exists()
