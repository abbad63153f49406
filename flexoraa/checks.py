from django.conf import settings
from django.core.checks import Error, register

from flexoraa.celery import time_limit_problem


@register()
def celery_time_limit_below_visibility_timeout(app_configs, **kwargs):
    problem = time_limit_problem(
        settings.CELERY_TASK_TIME_LIMIT, settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )
    return [Error(problem, id="flexoraa.E001")] if problem else []
