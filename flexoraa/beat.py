"""Beat's scheduler: django-celery-beat's, plus a heartbeat row /healthz reads."""

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from flexoraa.celery import refuse_unsafe_time_limits
from flexoraa.jobs import schedules_sync
from flexoraa.models import BeatTick

# Beat ticks every few seconds; the heartbeat row is written at most this often.
HEARTBEAT_EVERY = timedelta(seconds=15)


def beat_tick_record() -> None:
    BeatTick.objects.update_or_create(pk=1, defaults={"ticked_at": timezone.now()})


class TickRecordingScheduler(DatabaseScheduler):
    _last_heartbeat = None

    def setup_schedule(self):
        # Beat builds its scheduler before it sends beat_init, so the check lives here.
        refuse_unsafe_time_limits()
        schedules_sync()
        super().setup_schedule()

    def tick(self, *args, **kwargs):
        now = timezone.now()
        if self._last_heartbeat is None or now - self._last_heartbeat >= HEARTBEAT_EVERY:
            beat_tick_record()
            self._last_heartbeat = now
        return super().tick(*args, **kwargs)
