from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules_after_migrate(sender, **kwargs):
    from flexoraa.jobs import schedules_sync

    schedules_sync()


class FlexoraaConfig(AppConfig):
    name = "flexoraa"
    verbose_name = "Flexoraa platform"

    def ready(self):
        from flexoraa import checks  # noqa: F401  (registers system checks)

        # Each app's navigation.py registers its own links; the core's templates name none.
        from flexoraa.navigation import autodiscover as autodiscover_navigation

        autodiscover_navigation()

        # Infrastructure, not business flow: every migrate leaves beat's table in step
        # with the declared jobs.
        post_migrate.connect(
            _sync_schedules_after_migrate, sender=self, dispatch_uid="flexoraa_sync_schedules"
        )
