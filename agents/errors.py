"""Errors this app raises; the API turns each into the one JSON error shape."""
