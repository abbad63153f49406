"""The locked-out answer (``AXES_LOCKOUT_CALLABLE``): a page saying how long and what to do,
or the one JSON error shape for a client that asked for JSON."""

from datetime import UTC, timedelta

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from flexoraa.lockout import rules, selectors
from flexoraa.lockout.handler import SignInLockoutHandler
from flexoraa.lockout.models import Scope
from flexoraa.responses import error_response, wants_json

STATUS = 429


def locked_out_response(request, original_response=None, credentials=None):
    now = timezone.now()
    lock = getattr(request, "sign_in_lock", None) or SignInLockoutHandler.lock(
        request, credentials
    ) or rules.Lock(scope=Scope.ACCOUNT, until=now + selectors.limits().window)
    wait = rules.duration_text(max(lock.until - now, timedelta(0)))
    by_address = lock.scope != Scope.ACCOUNT
    if wants_json(request) or request.headers.get("x-requested-with") == "XMLHttpRequest":
        whom = "from your network address" if by_address else "for this account"
        response = error_response(
            status=STATUS, code="sign_in_locked",
            message=(f"Too many wrong passwords were tried {whom}; signing in is paused for "
                     f"{wait}. A manager or owner of your organization can unlock an account "
                     "in the manager console (Sign-in locks)."),
        )
    else:
        is_console = request.path.startswith(reverse("admin:index"))
        response = render(request, "lockout/locked_out.html", {
            "by_address": by_address,
            "username": (credentials or {}).get("username") or request.POST.get("username", ""),
            "wait": wait,
            "until_utc": lock.until.astimezone(UTC).strftime("%H:%M"),
            "login_url": reverse("admin:login" if is_console else "login"),
        }, status=STATUS)
    response["Retry-After"] = str(lock.seconds_left(now))
    return response
