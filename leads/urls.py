"""LeadOS pages for SDRs and managers (signed in)."""

from django.urls import path

from leads import views
from leads.views import queue

app_name = "leads"

urlpatterns = [
    path("", views.MyLeadsView.as_view(), name="my-leads"),
    path("team/", views.TeamQueueView.as_view(), name="team"),
    path("team/breach-banner/", views.BreachBannerView.as_view(), name="breach-banner"),
    path("team/breaches/<int:pk>/acknowledge/", views.BreachAcknowledgeView.as_view(),
         name="breach-acknowledge"),
    path("sla/", views.SlaReportView.as_view(), name="sla"),
    path("queue/", queue.UnassignedQueueView.as_view(), name="queue"),
    path("queue/<int:pk>/take/", queue.QueueTakeView.as_view(), name="queue-take"),
    path("queue/banner/", queue.QueueBannerView.as_view(), name="queue-banner"),
    path("<int:pk>/", views.LeadDetailView.as_view(), name="detail"),
    path("<int:pk>/first-response/", views.FirstResponseView.as_view(), name="first-response"),
    path("<int:pk>/status/", views.StatusChangeView.as_view(), name="status"),
    path("<int:pk>/qualification/", views.QualificationView.as_view(), name="qualification"),
    path("<int:pk>/reassign/", views.ReassignView.as_view(), name="reassign"),
    path("<int:pk>/notes/", views.NoteAddView.as_view(), name="note-add"),
    path("<int:pk>/follow-ups/", views.FollowUpSetView.as_view(), name="follow-up-set"),
    path("<int:pk>/follow-ups/<int:follow_up_pk>/done/", views.FollowUpCompleteView.as_view(),
         name="follow-up-done"),
    path("<int:pk>/follow-ups/<int:follow_up_pk>/reschedule/",
         views.FollowUpRescheduleView.as_view(), name="follow-up-reschedule"),
]
