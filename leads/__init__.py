"""LeadOS: intake, verification, scoring, routing, SLA and leakage prevention."""
