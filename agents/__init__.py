"""AgentOS: channels, conversations, messages, the SDR inbox and the AI agent."""
