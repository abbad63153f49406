"""Adapters to the external systems of the token economy (one module per provider)."""
