"""The notification centre's pages: the bell's count (polled by every page), the person's
list of notifications with "mark all read", opening one (read, then on to its lead or
conversation), and which kinds also come by email.

Reads go through ``flexoraa.selectors`` and writes through ``flexoraa.notifications``; each
page sees only the signed-in person's own notifications (another person's id is a 404).
"""

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.views import View
from django.views.decorators.cache import never_cache

from flexoraa import selectors
from flexoraa.errors import NotFound
from flexoraa.models import NotificationKind
from flexoraa.notifications import (
    membership_email_kinds_set,
    notification_open,
    notifications_mark_read,
)
from flexoraa.views import TenantPageMixin

PAGE_SIZE = 50
# The kinds as the list's tags say them (their labels read as the email choices do).
KIND_TAGS = {
    NotificationKind.LEAD_ASSIGNED: "Assigned to you",
    NotificationKind.LEAD_HOT: "HOT lead",
    NotificationKind.SLA_WARNING: "SLA warning",
    NotificationKind.FOLLOW_UP_DUE: "Follow-up due",
    NotificationKind.CONVERSATION_TRANSFERRED: "Conversation for you",
    NotificationKind.MENTION: "Mentioned you",
}
# htmx stops polling on this status: a signed-out tab stops asking for its count.
HTMX_STOP_POLLING = 286


def count_label(unread: int, cap: int = selectors.UNREAD_COUNT_CAP) -> str:
    return f"{cap - 1}+" if unread >= cap else str(unread)


def age_words(moment: datetime, now: datetime) -> str:
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


@method_decorator(never_cache, name="dispatch")
class BellView(View):
    """The bell's unread count, polled by every signed-in page (one counting query)."""

    def get(self, request):
        membership = getattr(request, "membership", None)
        if not request.user.is_authenticated or membership is None:
            return HttpResponse(status=HTMX_STOP_POLLING)
        unread = selectors.notification_unread_count(request.organization, membership)
        return render(request, "flexoraa/_bell.html",
                      {"unread": unread, "unread_label": count_label(unread)})


class NotificationListView(TenantPageMixin, View):
    """The person's notifications, newest first, the unread ones marked; and their choice of
    kinds by email."""

    def get(self, request):
        notifications = selectors.notifications_for(self.organization, self.membership)
        page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for notification in page.object_list:
            notification.tag = KIND_TAGS.get(notification.kind, notification.get_kind_display())
            notification.age = age_words(notification.created_at, now)
        unread = selectors.notification_unread_count(self.organization, self.membership)
        chosen = set(self.membership.notify_by_email or ())
        return render(request, "flexoraa/notifications.html", {
            "page": page,
            "unread": unread,
            "unread_label": count_label(unread),
            "kinds": [(kind.value, kind.label, kind.value in chosen)
                      for kind in NotificationKind],
            "email": self.request.user.email,
        })


def _own_ids(values: list[str]) -> list[int]:
    # Hand-made form values: anything not a plausible id is simply nobody's notification.
    ids = []
    for value in values:
        if value.isdigit() and 0 < int(value) < 2**63:
            ids.append(int(value))
    return ids


class NotificationReadView(TenantPageMixin, View):
    """Mark all of the person's notifications read ("all"), or the ones named by ``id``."""

    def post(self, request):
        ids = None if request.POST.get("all") else _own_ids(request.POST.getlist("id"))
        marked = notifications_mark_read(org=self.organization, recipient=self.membership,
                                         ids=ids)
        if ids is None:
            messages.success(request, "All your notifications are read." if marked
                             else "You had no unread notifications.")
        return redirect("notifications:list")


class NotificationOpenView(TenantPageMixin, View):
    """Opening a notification marks it read and goes on to what it is about."""

    def get(self, request, pk):
        try:
            notification = notification_open(org=self.organization, recipient=self.membership,
                                             notification_id=pk)
        except NotFound as error:
            raise Http404(error.message) from error
        target = notification.url
        if target and url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            return redirect(target)
        return redirect("notifications:list")


class NotificationEmailView(TenantPageMixin, View):
    """The person chooses which kinds of notification also come to them by email."""

    def post(self, request):
        kinds = [kind for kind in request.POST.getlist("kind") if kind in NotificationKind.values]
        membership_email_kinds_set(org=self.organization, membership=self.membership,
                                   kinds=kinds, actor=self.actor)
        if not kinds:
            messages.success(request, "No notification comes to you by email now.")
        elif not request.user.email:
            messages.success(request, "Saved. Your account has no email address yet, so none "
                                      "can be sent until it has one.")
        else:
            messages.success(request, f"Saved: {len(kinds)} kind{'s' if len(kinds) != 1 else ''}"
                                      f" of notification also come to {request.user.email}.")
        return redirect("notifications:list")
