from importlib import import_module

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from flexoraa import views
from flexoraa.api import router
from flexoraa.viewsets import MeView

# Importing each app's API module registers its viewsets on the one router.
for api_module in ("flexoraa.notification_api", "leads.api", "agents.api", "billing.api",
                   "appointments.api", "experiments.api", "compliance.api", "monitoring.api"):
    import_module(api_module)

api_patterns = [
    path("me/", MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    re_path(r"^.*$", views.api_route_not_found),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("availability/", views.AvailabilityToggleView.as_view(), name="availability-toggle"),
    path("organization/switch/", views.organization_switch, name="organization-switch"),
    path("operations/", views.OperationsView.as_view(), name="operations"),
    path("notifications/", include("flexoraa.notification_urls")),
    path("favicon.ico", views.favicon),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("leads/", include("leads.urls")),
    path("f/", include("leads.form_urls")),
    path("billing/", include("billing.urls")),
    path("experiments/", include("experiments.urls")),
    path("inbox/", include("agents.urls")),
    path("webhooks/razorpay/", include("billing.webhook_urls")),
    path("webhooks/", include("agents.webhook_urls")),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
]

handler403 = "flexoraa.views.handler403"
handler404 = "flexoraa.views.handler404"
handler500 = "flexoraa.views.handler500"
