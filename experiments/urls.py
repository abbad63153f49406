"""The managers' experiment pages, mounted at /experiments/."""

from django.urls import path

from experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.ExperimentListView.as_view(), name="list"),
    path("<int:pk>/", views.ExperimentDetailView.as_view(), name="detail"),
]
