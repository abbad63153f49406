from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "AgentOS: channels, conversations, messages, the SDR inbox and the AI agent"
