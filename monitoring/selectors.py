"""Reads of model governance shared by pages, the API and jobs."""

from monitoring.models import ModelVersion


def active_model_version(name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name, is_active=True).first()
