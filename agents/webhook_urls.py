"""Meta's webhooks (WhatsApp, Instagram, Messenger), under /webhooks/."""

from django.urls import path

from agents import webhooks

urlpatterns = [
    path("whatsapp/", webhooks.whatsapp_webhook, name="whatsapp-webhook"),
    path("instagram/", webhooks.instagram_webhook, name="instagram-webhook"),
    path("messenger/", webhooks.messenger_webhook, name="messenger-webhook"),
]
