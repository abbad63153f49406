"""The project's URLs plus a bare baseline view, for benchmarks only."""

from django.http import HttpResponse
from django.urls import include, path


def noop(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/noop/", noop),
    path("", include("flexoraa.urls")),
]
