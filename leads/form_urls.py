"""The public lead form of each tenant (no sign-in); see leads/webform.py."""

from django.urls import path

from leads import webform

app_name = "lead_forms"

urlpatterns = [
    path("<slug:slug>/", webform.form_view, name="form"),
    path("<slug:slug>/thanks/", webform.thanks_view, name="thanks"),
    path("<slug:slug>/token/", webform.token_view, name="token"),
    path("<slug:slug>/submit/", webform.submit_view, name="submit"),
]
