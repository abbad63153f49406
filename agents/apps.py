from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "AgentOS: channels, conversations, messages, the SDR inbox and the AI agent"

    def ready(self):
        from agents.webhooks import ADAPTERS
        from flexoraa.webhooks.adapters import adapter_register

        for adapter in ADAPTERS.values():
            adapter_register(adapter)

        from agents.views.lead_panel import register_lead_panel

        register_lead_panel()  # the lead's conversation on LeadOS's lead page
