from django.apps import AppConfig


class LockoutConfig(AppConfig):
    name = "flexoraa.lockout"
    label = "lockout"
    verbose_name = "Sign-in lockout"
    default_auto_field = "django.db.models.BigAutoField"
