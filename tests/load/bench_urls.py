"""The project's URLs plus bare baseline views, for benchmarks only."""

import json
import uuid

from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from flexoraa.models import WebhookDelivery


def noop(request):
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt  # posted like a webhook, without a CSRF token
@require_POST
def insert(request):
    """A plain Django view doing one ORM INSERT into the table the webhooks write: what the
    signed webhook endpoints are measured against."""
    WebhookDelivery.objects.create(provider="bench", event_id=uuid.uuid4().hex,
                                   payload=json.loads(request.body))
    return JsonResponse({"received": True})


urlpatterns = [
    path("bench/noop/", noop),
    path("bench/insert/", insert),
    path("", include("flexoraa.urls")),
]
