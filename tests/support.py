"""Helpers shared by tests (fixtures live in tests/conftest.py)."""

import os

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
