"""Model governance tables: the versions of each trained model and which one is active."""

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """A trained model the platform can serve, with the figures it scored on held-out data.

    Platform-wide (every tenant uses the same trained model); at most one version of each
    model is active, and the database enforces it.
    """

    name = models.CharField(max_length=64, help_text='The model, e.g. "lead-nlu".')
    version = models.CharField(max_length=64)
    artefact_sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField()
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="model_version_unique"),
            models.UniqueConstraint(fields=["name"], condition=Q(is_active=True),
                                    name="model_one_active_version"),
        ]

    def __str__(self):
        return f"{self.name} {self.version}{' (active)' if self.is_active else ''}"
