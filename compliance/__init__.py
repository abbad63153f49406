"""GDPR deletion requests, anonymization, export, consent and opt-out."""
