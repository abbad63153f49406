"""The SDR inbox pages (signed in). Names start with ``inbox-``."""

from django.urls import path

from agents import gmail_views, views
from agents.views import lead_panel

urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox-list"),
    path("<int:pk>/", views.ThreadView.as_view(), name="inbox-thread"),
    path("<int:pk>/messages/", views.ThreadMessagesView.as_view(), name="inbox-thread-messages"),
    path("<int:pk>/template-fields/", views.TemplateFieldsView.as_view(),
         name="inbox-template-fields"),
    path("<int:pk>/reply/", views.ReplyView.as_view(), name="inbox-reply"),
    path("<int:pk>/assign/", views.AssignView.as_view(), name="inbox-assign"),
    path("<int:pk>/read/", views.MarkReadView.as_view(), name="inbox-read"),
    path("<int:pk>/done/", views.DoneView.as_view(), name="inbox-done"),
    path("<int:pk>/take/", views.TakeView.as_view(), name="inbox-take"),
    path("<int:pk>/messages/<int:message_pk>/verdict/", views.VerdictView.as_view(),
         name="inbox-verdict"),
    # The lead's conversation on the lead page (agents.views.lead_panel).
    path("lead-conversation/<int:pk>/", lead_panel.LeadConversationView.as_view(),
         name="inbox-lead-conversation"),
    path("lead-conversation/<int:pk>/older/", lead_panel.LeadConversationOlderView.as_view(),
         name="inbox-lead-conversation-older"),
    path("lead-conversation/<int:pk>/reply/", lead_panel.LeadConversationReplyView.as_view(),
         name="inbox-lead-conversation-reply"),
    path("lead/<int:lead_pk>/email/", lead_panel.LeadEmailView.as_view(),
         name="inbox-lead-email"),
    path("channels/gmail/connect/", gmail_views.GmailConnectView.as_view(),
         name="inbox-gmail-connect"),
    path("channels/gmail/callback/", gmail_views.GmailCallbackView.as_view(),
         name="inbox-gmail-callback"),
]
