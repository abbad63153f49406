"""Queueing work for many stored rows in batches, off the request path.

A webhook endpoint stores each event durably and answers at once; queueing a Celery task per
request costs more CPU than the rest of the request together (building and publishing the
message). ``IdBatcher`` collects the new rows' ids in the process and publishes them every
``interval`` seconds, a batch per task, from one background thread per process. The rows are
the source of truth: ids still in memory when a process dies are found again by the redrive
job that looks for unprocessed rows, so batching trades a few milliseconds of latency for
throughput and loses nothing.
"""

import atexit
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class IdBatcher:
    def __init__(self, name: str, publish: Callable[[list[int]], None], *,
                 interval: Callable[[], float], batch_size: int):
        """``publish(ids)`` queues one task for ``ids``; ``interval()`` is read per call, so
        settings overridden in tests apply (0 publishes at once, in the caller's thread)."""
        self.name = name
        self._publish = publish
        self._interval = interval
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._wake = threading.Event()
        self._owner_pid: int | None = None
        atexit.register(self.flush)

    def add(self, ids: list[int]) -> None:
        if not ids:
            return
        if self._interval() <= 0:
            self._send(list(ids))
            return
        with self._lock:
            self._ids.extend(ids)
            self._thread_ensure()
            if len(self._ids) >= self._batch_size:
                self._wake.set()

    def flush(self) -> int:
        """Publish everything collected now; returns how many ids went."""
        with self._lock:
            ids, self._ids = self._ids, []
        for start in range(0, len(ids), self._batch_size):
            self._send(ids[start:start + self._batch_size])
        return len(ids)

    def _send(self, ids: list[int]) -> None:
        try:
            self._publish(ids)
        except Exception:
            # The broker is down: the rows stay unprocessed and the redrive queues them.
            logger.exception("could not queue a batch", extra={"batch": self.name,
                                                               "count": len(ids)})

    def _thread_ensure(self) -> None:
        # A forked worker (gunicorn, celery prefork) inherits no running thread: start one in
        # each process that adds ids. Called with the lock held.
        if self._owner_pid == os.getpid():
            return
        self._owner_pid = os.getpid()
        threading.Thread(target=self._run, name=f"{self.name}-publisher", daemon=True).start()

    def _run(self) -> None:
        while True:
            interval = self._interval()
            # Batching switched off meanwhile: ids go out at once, nothing to wait for.
            self._wake.wait(timeout=interval if interval > 0 else 1.0)
            self._wake.clear()
            self.flush()
