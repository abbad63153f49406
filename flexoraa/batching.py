"""Queueing work for many stored rows in batches, off the request path.

A webhook endpoint stores each event durably and answers at once; queueing a Celery task per
request costs more CPU than the rest of the request together (building and publishing the
message). ``IdBatcher`` collects the new rows' ids in the process and publishes them every
``interval`` seconds, a batch per task, from one background thread per process. The rows are
the source of truth: ids still in memory when a process dies are found again by the redrive
job that looks for unprocessed rows, so batching trades a few milliseconds of latency for
throughput and loses nothing. A batch the broker refuses is kept and tried again with growing
waits (up to ``MAX_HELD_IDS``), so a broker that comes back gets it within seconds instead of
at the next redrive.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Ids kept for another try while the broker is down; beyond this the redrive finds them.
MAX_HELD_IDS = 10_000
LONGEST_PUBLISH_BACKOFF = 30.0


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
        self._backoff = 0.0
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
        """Publish everything collected now; returns how many ids went. Ids the broker
        refused are kept for the publisher thread's next try."""
        with self._lock:
            ids, self._ids = self._ids, []
        for start in range(0, len(ids), self._batch_size):
            batch = ids[start:start + self._batch_size]
            if not self._send(batch):
                self._hold(ids[start:])
                return start
        return len(ids)

    def send_now(self, ids: list[int]) -> bool:
        """Publish ``ids`` in the caller's thread (jobs that queue a batch they found).
        Returns False when the broker refused them; the rows stay for the next redrive."""
        return self._send(list(ids))

    def _send(self, ids: list[int]) -> bool:
        try:
            self._publish(ids)
        except Exception:
            logger.exception("could not queue a batch", extra={"batch": self.name,
                                                               "count": len(ids)})
            return False
        self._backoff = 0.0
        return True

    def _hold(self, ids: list[int]) -> None:
        # Back to the front, oldest first, within the cap; the publisher waits longer each
        # time the broker refuses, so a dead broker is not hammered.
        with self._lock:
            room = max(MAX_HELD_IDS - len(self._ids), 0)
            self._ids[:0] = ids[:room]
            if self._interval() > 0 and self._ids:
                self._thread_ensure()
        self._backoff = min(max(self._backoff * 2, 1.0), LONGEST_PUBLISH_BACKOFF)

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
            if self._backoff:
                # The broker refused the last batch: wait it out, whatever arrives meanwhile.
                time.sleep(self._backoff)
            # Batching switched off meanwhile: ids go out at once, nothing to wait for.
            self._wake.wait(timeout=interval if interval > 0 else 1.0)
            self._wake.clear()
            self.flush()
