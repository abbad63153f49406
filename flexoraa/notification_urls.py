"""The notification centre's pages (signed in)."""

from django.urls import path

from flexoraa import notification_views as views

app_name = "notifications"

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="list"),
    path("bell/", views.BellView.as_view(), name="bell"),
    path("read/", views.NotificationReadView.as_view(), name="read"),
    path("email/", views.NotificationEmailView.as_view(), name="email"),
    path("<int:pk>/open/", views.NotificationOpenView.as_view(), name="open"),
]
