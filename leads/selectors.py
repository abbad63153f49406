"""Tenant-scoped reads shared by pages, the API and jobs."""
