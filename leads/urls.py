"""LeadOS pages for SDRs and managers (signed in)."""

app_name = "leads"

urlpatterns = []
