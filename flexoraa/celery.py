"""The Celery app. Four queues: webhooks (fast ingest), ai (model and LLM calls),
periodic (beat's jobs) and default. Tasks acknowledge late, so each must be safe to run
twice, and no task may run longer than the broker waits before redelivering it."""

import os

from celery import Celery
from django.core.exceptions import ImproperlyConfigured

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


def check_time_limits(conf) -> None:
    problem = time_limit_problem(conf.task_time_limit, conf.broker_transport_options)
    if problem:
        raise ImproperlyConfigured(problem)


@app.on_after_configure.connect
def _check_time_limits_at_start(sender, **kwargs):
    check_time_limits(sender.conf)
