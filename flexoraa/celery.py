"""The Celery app. Four queues: webhooks (fast ingest), ai (model and LLM calls),
periodic (beat's jobs) and default. Tasks acknowledge late, so each must be safe to run
twice, and no task may run longer than the broker waits before redelivering it."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexoraa.settings")

app = Celery("flexoraa", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def time_limit_problem(task_time_limit, transport_options) -> str | None:
    """What is wrong when a task could outlive the broker's visibility timeout (the broker
    would hand the still-running task to a second worker), or None."""
    visibility = (transport_options or {}).get("visibility_timeout")
    if visibility is None:
        return None
    if task_time_limit is None or task_time_limit >= visibility:
        return (
            f"CELERY_TASK_TIME_LIMIT ({task_time_limit}s) must be below the broker visibility "
            f"timeout ({visibility}s)."
        )
    return None


def refuse_unsafe_time_limits() -> None:
    """Stops a worker or beat at start-up when a task could outlive the visibility timeout.
    Celery logs and swallows most exceptions raised while starting; SystemExit stops it."""
    problem = time_limit_problem(app.conf.task_time_limit, app.conf.broker_transport_options)
    if problem:
        raise SystemExit(f"Refusing to start: {problem}")


@signals.worker_init.connect
def _check_worker_time_limits(**kwargs):
    refuse_unsafe_time_limits()
