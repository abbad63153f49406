"""Liveness of the three things the platform stands on: database, broker and beat."""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from flexoraa.celery import app as celery_app
from flexoraa.models import BeatTick


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; its class says which
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def broker_status() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # any transport error means "down"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": str(transport)}


def beat_status() -> dict:
    try:
        tick = BeatTick.objects.filter(pk=1).values_list("ticked_at", flat=True).first()
    except Exception as exc:  # the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    if tick is None:
        return {"ok": False, "last_tick": None, "error": "beat has never ticked"}
    age = (timezone.now() - tick).total_seconds()
    ok = age <= settings.BEAT_STALE_AFTER_SECONDS
    status = {"ok": ok, "last_tick": tick.isoformat(), "seconds_ago": round(age, 1)}
    if not ok:
        status["error"] = f"no tick for {int(age)} seconds"
    return status


def readiness_report() -> tuple[bool, dict]:
    """What a web node needs to serve: its database. For the load balancer, so an outage of
    beat or the broker does not take every web node out of rotation."""
    checks = {"database": database_status()}
    ready = checks["database"]["ok"]
    return ready, {"status": "ok" if ready else "unavailable", "checks": checks}


def health_report() -> tuple[bool, dict]:
    checks = {"database": database_status(), "broker": broker_status()}
    checks["beat"] = beat_status() if checks["database"]["ok"] else {"ok": False,
                                                                     "error": "database down"}
    healthy = all(check["ok"] for check in checks.values())
    return healthy, {"status": "ok" if healthy else "unavailable", "checks": checks}
