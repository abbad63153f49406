"""What the HTTP benchmarks share: a gunicorn serving the project against the test database, a
light load generator (closed loop for the maximum rate, paced open loop for latency at a set
rate), and the accounting of how many cores the run had, so a figure measured beside someone
else's jobs on the shared machine can be told from a regression.

The clients are plain ``http.client`` connections, one per thread, kept alive when the server
allows it (gunicorn's sync workers close every connection, and ``http.client`` reopens it on
the next request): the load generator shares the machine with the server, so the less CPU a
request costs on the client side, the more of the machine the server has.
"""

import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection, connections

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def database_url() -> str:
    """The test database (not the one DATABASE_URL names), for the server processes."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving the project against the test database, ready once ``ready_path``
    answers 200."""

    def __init__(self, log_path: Path, *, gunicorn_args: list[str], ready_path: str,
                 ready_headers: dict | None = None, settings_module: str = "flexoraa.settings",
                 env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.gunicorn_args = list(gunicorn_args)
        self.ready_path = ready_path
        self.ready_headers = ready_headers or {}
        self.settings_module = settings_module
        self.extra_env = env or {}

    def __enter__(self):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DEBUG": "false",  # DEBUG keeps every query of a request in memory
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        self.log = open(self.log_path, "w")  # closed in __exit__
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "flexoraa.wsgi",
             *self.gunicorn_args, "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
             # Its default control socket is one path per user, shared with any other server.
             "--no-control-socket"],
            cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_serving()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                response = requests.get(f"{self.base}{self.ready_path}", timeout=10,
                                        headers=self.ready_headers)
                if response.status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or still importing Django
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)

    def __exit__(self, *exc_info):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- How much of the machine a run had -------------------------------------------------------

def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def cpu_seconds(pids) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited
        found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def benchmark_pids(server) -> set[int]:
    """This process (the clients), the server's processes and the database's backends."""
    pids = {os.getpid(), server.process.pid}
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat_path.read_text().rsplit(")", 1)[1].split()[1]) == server.process.pid:
                pids.add(int(stat_path.parent.name))
        except (OSError, ValueError):
            continue
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids.update(pid for (pid,) in cursor.fetchall())
    return pids


class CoresMeter:
    """Cores busy over a run, and how many of them other work on the machine took."""

    def __init__(self, server):
        self.server = server
        self.pids = benchmark_pids(server)
        self.ours = cpu_seconds(self.pids)
        self.busy = machine_busy_seconds()
        self.started = time.perf_counter()

    def stop(self) -> tuple[float, float]:
        elapsed = time.perf_counter() - self.started
        busy = machine_busy_seconds() - self.busy
        after = cpu_seconds(self.pids | benchmark_pids(self.server))
        ours = sum(used - self.ours.get(pid, 0.0) for pid, used in after.items())
        return busy / elapsed, max(busy - ours, 0.0) / elapsed


# --- Load generation -------------------------------------------------------------------------

class Bodies:
    """Request bodies and their own headers (a signature), built and signed before a run so
    the window measures the server, handed out once each, from any thread."""

    def __init__(self, bodies: list[tuple[bytes, dict]]):
        self.bodies = bodies
        self._next = itertools.count()  # next() on a count is atomic under the GIL

    def take(self) -> tuple[bytes, dict]:
        index = next(self._next)
        if index >= len(self.bodies):
            raise RuntimeError(f"all {len(self.bodies)} pre-built bodies were used")
        return self.bodies[index]


@dataclass
class Target:
    """One request shape: GET when ``bodies`` is None, else a POST of the next body."""

    name: str
    path: str
    bodies: Bodies | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # s, answers finished in the window
    statuses: Counter = field(default_factory=Counter)  # in the window; "exception" too
    errors: list[str] = field(default_factory=list)
    late: int = 0  # open loop: arrivals sent more than 1 ms after their time
    cores_busy: float | None = None
    cores_other: float | None = None

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    @property
    def failures(self) -> int:
        return sum(self.statuses.values()) - self.ok

    def percentile(self, fraction: float) -> float:
        """Milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=1000)[round(fraction * 1000) - 1] * 1000


class Client:
    """One keep-alive connection to the server, used by one thread."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, target: Target, body: tuple[bytes, dict] | None = None) -> int:
        if body is None:
            self.connection.request("GET", target.path, headers=target.headers)
        else:
            content, headers = body
            self.connection.request("POST", target.path, body=content,
                                    headers={**target.headers, **headers})
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


def _record(result: Result, lock, latencies, statuses, errors, late=0) -> None:
    with lock:
        result.latencies.extend(latencies)
        result.statuses.update(statuses)
        result.errors.extend(errors[:5])
        result.late += late


def closed_loop(port: int, target: Target, *, clients: int, warmup: float, seconds: float,
                server=None) -> Result:
    """``clients`` threads send back to back from a common start; the answers that finish
    inside [start + warmup, start + warmup + seconds] are measured."""
    result = Result(target.name, seconds)
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    window: dict[str, float] = {}

    def client() -> None:
        latencies, statuses, errors = [], Counter(), []
        own = Client(port)
        try:
            barrier.wait()
            while True:
                started = time.perf_counter()
                if started >= window["until"]:
                    break
                body = target.bodies.take() if target.bodies is not None else None
                try:
                    status = own.send(target, body)
                except (OSError, http.client.HTTPException) as exc:  # counted, never hidden
                    status = "exception"
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    own.close()
                finished = time.perf_counter()
                if window["from"] <= finished <= window["until"]:
                    statuses[status] += 1
                    latencies.append(finished - started)
        finally:
            own.close()
            _record(result, lock, latencies, statuses, errors)

    meter = CoresMeter(server) if server is not None else None
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    window.update({"from": start + warmup, "until": start + warmup + seconds})
    barrier.wait()
    for thread in threads:
        thread.join(timeout=warmup + seconds + 120)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    if meter is not None:
        result.cores_busy, result.cores_other = meter.stop()
    return result


def open_loop(port: int, target: Target, *, rate: float, warmup: float, seconds: float,
              senders: int = 48, server=None) -> Result:
    """Arrivals paced at ``rate`` per second whatever the server does (no coordinated
    omission): arrival i is due at start + i / rate, and its latency runs from that moment to
    the end of its answer, so time spent waiting for a free sender counts too. The arrivals
    due after the warm-up are measured."""
    result = Result(target.name, seconds)
    total = int(rate * (warmup + seconds))
    first_measured = int(rate * warmup)
    arrivals = itertools.count()
    barrier = threading.Barrier(senders + 1)
    lock = threading.Lock()
    clock: dict[str, float] = {}

    def sender() -> None:
        latencies, statuses, errors, late = [], Counter(), [], 0
        own = Client(port)
        try:
            barrier.wait()
            while (index := next(arrivals)) < total:
                due = clock["start"] + index / rate
                body = target.bodies.take() if target.bodies is not None else None
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.001:
                    late += index >= first_measured
                try:
                    status = own.send(target, body)
                except (OSError, http.client.HTTPException) as exc:
                    status = "exception"
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    own.close()
                if index >= first_measured:
                    statuses[status] += 1
                    latencies.append(time.perf_counter() - due)
        finally:
            own.close()
            _record(result, lock, latencies, statuses, errors, late)

    meter = CoresMeter(server) if server is not None else None
    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    clock["start"] = time.perf_counter() + 0.05
    barrier.wait()
    for thread in threads:
        thread.join(timeout=warmup + seconds + 120)
    assert not any(thread.is_alive() for thread in threads), "a sender hung"
    if meter is not None:
        result.cores_busy, result.cores_other = meter.stop()
    return result


def post_all(port: int, target: Target, *, clients: int) -> Result:
    """Every body of ``target`` posted once, by ``clients`` threads at once, as fast as the
    server answers."""
    result = Result(target.name, 0.0)
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client() -> None:
        latencies, statuses, errors = [], Counter(), []
        own = Client(port)
        try:
            barrier.wait()
            while True:
                try:
                    body = target.bodies.take()
                except RuntimeError:
                    break  # all posted
                started = time.perf_counter()
                try:
                    status = own.send(target, body)
                except (OSError, http.client.HTTPException) as exc:
                    status = "exception"
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    own.close()
                statuses[status] += 1
                latencies.append(time.perf_counter() - started)
        finally:
            own.close()
            connections.close_all()
            _record(result, lock, latencies, statuses, errors)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1200)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    result.seconds = time.perf_counter() - started
    return result
