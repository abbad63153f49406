from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "LeadOS: intake, verification, scoring, routing, SLA and leakage prevention"

    def ready(self):
        from flexoraa.capacity import capacity_listener_register
        from leads.services.queue import capacity_freed

        # The core tells us when a member may have room; queued leads go to them then.
        capacity_listener_register(capacity_freed)

        from leads.views.home import register_home_sections

        register_home_sections()  # the pipeline and the SDR's queue on the core's home page
