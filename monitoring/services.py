"""Model governance use cases: registering and activating trained model versions."""

from django.db import transaction
from django.utils import timezone

from flexoraa.errors import Conflict
from monitoring.models import ModelVersion


def model_version_register(
    *, name: str, version: str, artefact_sha256: str, metrics: dict, activate: bool = True
) -> ModelVersion:
    """Record a trained version (or find it again: registering the same artefact twice is a
    no-op) and, by default, make it the active one.

    Raises ``Conflict`` when the version exists with a different artefact: a version names
    one artefact forever.
    """
    with transaction.atomic():
        existing = ModelVersion.objects.select_for_update().filter(
            name=name, version=version
        ).first()
        if existing is not None and existing.artefact_sha256 != artefact_sha256:
            raise Conflict(f"{name} {version} was registered with another artefact; "
                           "train under a new version.")
        if existing is None:
            existing = ModelVersion.objects.create(
                name=name, version=version, artefact_sha256=artefact_sha256, metrics=metrics,
                trained_at=timezone.now(),
            )
        if activate and not existing.is_active:
            ModelVersion.objects.filter(name=name, is_active=True).update(is_active=False)
            existing.is_active = True
            existing.activated_at = timezone.now()
            existing.save(update_fields=["is_active", "activated_at"])
    return existing
