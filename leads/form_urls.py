"""The public lead form of each tenant (no sign-in)."""

app_name = "lead_forms"

urlpatterns = []
