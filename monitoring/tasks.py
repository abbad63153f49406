"""Thin Celery tasks: load ids, call one service."""
