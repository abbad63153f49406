from django.apps import AppConfig


def lead_exists(org, lead_id: int) -> bool:
    """Whether ``lead_id`` is one of ``org``'s leads: one primary-key lookup in the tenant's
    scope (another tenant's lead reads as missing)."""
    from leads import selectors

    return selectors.leads_for_org(org).filter(pk=lead_id).exists()


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "LeadOS: intake, verification, scoring, routing, SLA and leakage prevention"

    def ready(self):
        from flexoraa.capacity import capacity_listener_register
        from flexoraa.subjects import subject_exists_register
        from leads.services.queue import capacity_freed

        # The core tells us when a member may have room; queued leads go to them then.
        capacity_listener_register(capacity_freed)
        # Experiments assign leads by id (they sit below leads and hold no foreign key to
        # them); an id that is not the tenant's lead is refused before it is stored.
        subject_exists_register("lead", lead_exists)

        from leads.views.home import register_home_sections

        register_home_sections()  # the pipeline and the SDR's queue on the core's home page
