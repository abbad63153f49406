from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Model versions, predictions, drift reports, SLA and health views"
