"""Is a TCP port free to serve on, and which one to suggest when it is not.

Standard library only: `make run` runs this file with the system Python before it builds the
virtualenv, so a taken port is one clear line within a second, not after minutes of install.
It runs isolated (-I): this folder's selectors.py must not stand in for the standard one.

    python3 -I flexoraa/ports.py --port 8000     # exit 1 with one line when 8000 is taken
"""

import argparse
import errno
import socket
import sys

DEFAULT_PORT = 8000
SUGGESTION_RANGE = 100


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``. The probe binds the way the web
    server does (SO_REUSEADDR), so a closed server's sockets in TIME_WAIT do not count."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def next_free_port(host: str, after: int, *, avoid: frozenset[int] = frozenset()) -> int | None:
    for candidate in range(after + 1, min(after + 1 + SUGGESTION_RANGE, 65536)):
        if candidate not in avoid and not port_in_use(host, candidate):
            return candidate
    return None


def busy_port_message(host: str, port: int, *, what: str = "", make_variable: str = "PORT",
                      keep: str = "", avoid: frozenset[int] = frozenset()) -> str:
    """One line naming the taken port and the `make run` that would start: ``what`` says
    whose port it is, ``keep`` holds the other variables of the suggested command."""
    owner = f" ({what})" if what else ""
    free = next_free_port(host, port, avoid=avoid | {port})
    if free is None:
        return f"Port {port}{owner} is in use; run `make run {make_variable}=<a free port>`."
    command = " ".join(part for part in ("make run", keep, f"{make_variable}={free}") if part)
    return f"Port {port}{owner} is in use; run `{command}`."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 1 with one line when a port is taken.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    arguments = parser.parse_args(argv)
    if port_in_use(arguments.host, arguments.port):
        print(busy_port_message(arguments.host, arguments.port), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
