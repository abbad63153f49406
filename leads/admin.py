"""Admin classes, built on flexoraa.admin.TenantAdmin."""
