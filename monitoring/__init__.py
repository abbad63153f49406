"""Model versions, predictions, drift reports, SLA and health views."""
