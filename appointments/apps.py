from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Calendly links and webhooks, appointments, free slots and booking"
