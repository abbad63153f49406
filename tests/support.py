"""Helpers shared by tests (fixtures live in tests/conftest.py)."""

import os
import threading

import pytest

PASSWORD = "correct-horse-battery"


def using_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def using_redis_broker() -> bool:
    return os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")


needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs in the PostgreSQL + Redis pass (DATABASE_URL=postgres://…)",
)
needs_redis = pytest.mark.skipif(
    not using_redis_broker(),
    reason="runs in the PostgreSQL + Redis pass (CELERY_BROKER_URL=redis://…)",
)


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    """The response is the one JSON error shape with this status (and code); returns it."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def run_together(count: int, work, *, in_transaction: bool = False) -> list:
    """Runs ``work(index)`` in ``count`` threads released at once by a barrier, each on its own
    database connection (and inside a transaction of its own when ``in_transaction``, as a
    caller's use case would); returns each index's result or the exception it raised."""
    from django.db import connections, transaction

    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def run(index):
        try:
            barrier.wait()
            if in_transaction:
                with transaction.atomic():
                    outcomes[index] = work(index)
            else:
                outcomes[index] = work(index)
        except Exception as exc:  # kept and asserted by the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def errors_of(outcomes: list) -> list:
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]
