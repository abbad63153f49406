"""The project's URLs plus the Gmail connect pages, until agents/urls.py routes them."""

from django.urls import path

from agents import gmail_views
from flexoraa.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("inbox/channels/gmail/connect/", gmail_views.GmailConnectView.as_view(),
         name="inbox-gmail-connect"),
    path("inbox/channels/gmail/callback/", gmail_views.GmailCallbackView.as_view(),
         name="inbox-gmail-callback"),
    *project_urlpatterns,
]
