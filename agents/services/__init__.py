"""AgentOS use cases: channels, inbound messages, sends, the inbox."""
