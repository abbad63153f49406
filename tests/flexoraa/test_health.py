from datetime import timedelta
from unittest.mock import ANY

import pytest
from django.utils import timezone

from flexoraa.beat import beat_tick_record
from flexoraa.celery import app as celery_app
from flexoraa.models import BeatTick

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_database_broker_and_beat_are_up(client):
    beat_tick_record()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "broker": True, "beat": True,
    }
    assert body["checks"]["beat"]["seconds_ago"] < 5


def test_healthz_is_503_when_beat_has_never_ticked(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {
        "ok": False, "last_tick": None, "error": "beat has never ticked",
    }


def test_healthz_is_503_when_beats_last_tick_is_stale(client, settings):
    BeatTick.objects.create(
        pk=1, ticked_at=timezone.now() - timedelta(seconds=settings.BEAT_STALE_AFTER_SECONDS + 30)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no tick for" in response.json()["checks"]["beat"]["error"]


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    beat_tick_record()
    saved_url, saved_options = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    # Nothing listens on port 9 here: a real connection failure. Celery prefers the
    # environment variable to its configuration, so both point there.
    unreachable = "redis://127.0.0.1:9/0"
    monkeypatch.setenv("CELERY_BROKER_URL", unreachable)
    celery_app.conf.broker_url = unreachable
    celery_app.conf.broker_transport_options = {}
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url = saved_url
        celery_app.conf.broker_transport_options = saved_options
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_not_cached(client):
    beat_tick_record()
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


def test_readyz_needs_only_the_database_so_a_beat_outage_keeps_web_in_rotation(client):
    response = client.get("/readyz")  # beat has never ticked here
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True,
                                                                       "vendor": ANY}}}
