"""The webhooks a provider sandbox posts back to the app, as providers do: one background
thread delivers them in order, retrying a failed one with growing pauses; deliveries can be
held (to test a webhook that arrives late) and are dropped on close."""

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A failed delivery is tried again after these pauses (seconds), then given up.
RETRY_PAUSES = (0, 0.5, 1, 2, 4)


class WebhookOutbox:
    def __init__(self, name: str, on_attempt: Callable[[dict, int | None], None]):
        """``on_attempt(record, status)`` is told of every attempt (``status`` None when the
        app could not be reached)."""
        self.name = name
        self._on_attempt = on_attempt
        self._queue: queue.Queue = queue.Queue()
        self._running = threading.Event()
        self._running.set()
        self._closing = False
        self._lock = threading.Lock()
        self._deliverer: threading.Thread | None = None

    def post(self, url: str, body: bytes, headers: dict, record: dict) -> None:
        """Queue one signed webhook: the exact ``body`` with its ``headers``."""
        with self._lock:
            if self._deliverer is None or not self._deliverer.is_alive():
                self._closing = False
                self._deliverer = threading.Thread(target=self._deliver_loop,
                                                   name=f"{self.name}-webhooks", daemon=True)
                self._deliverer.start()
        self._queue.put((url, body, headers, record))

    def pause(self) -> None:
        """Hold deliveries (they queue up) until ``resume``."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def wait(self, timeout: float = 10) -> bool:
        """Wait until every queued webhook has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def drop_pending(self) -> None:
        """Forget the webhooks not delivered yet, and deliver again from now on."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
        self._running.set()

    def close(self) -> None:
        """Stop delivering (the webhooks still queued are dropped)."""
        self._closing = True
        self._running.set()
        if self._deliverer is not None and self._deliverer.is_alive():
            self._queue.put(None)
            self._deliverer.join(timeout=5)

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._running.wait()
                if not self._closing:
                    self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, body: bytes, headers: dict, record: dict) -> None:
        for pause in RETRY_PAUSES:
            time.sleep(pause)
            if self._closing or not url:
                return
            request = urllib.request.Request(  # noqa: S310  (the app's webhook URL, given to us)
                url, data=body, method="POST", headers=headers)
            status = None
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (as above)
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                logger.warning("%s sandbox webhook not delivered: %s", self.name, error)
            self._on_attempt(record, status)
            if status is not None and 200 <= status < 300:
                return


class WebhookSender:
    """What a provider sandbox that posts webhooks offers its tests: pause, resume, wait,
    close, and ``deliveries`` (every attempt with its status). The sandbox sets ``_lock``,
    ``deliveries`` and ``_outbox = WebhookOutbox(name, self._delivery_record)``."""

    def webhooks_pause(self) -> None:
        """Hold deliveries (they queue up) until ``webhooks_resume``."""
        self._outbox.pause()

    def webhooks_resume(self) -> None:
        self._outbox.resume()

    def webhooks_wait(self, timeout: float = 10) -> bool:
        """Wait until every queued webhook has been delivered (or given up on)."""
        return self._outbox.wait(timeout)

    def _delivery_record(self, record: dict, status: int | None) -> None:
        with self._lock:
            self.deliveries.append({**record, "status": status})

    def close(self) -> None:
        """Stop delivering webhooks (the ones still queued are dropped)."""
        self._outbox.close()
