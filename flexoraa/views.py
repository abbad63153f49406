from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LogoutView
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import Resolver404, resolve
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView

from flexoraa import home, selectors, services
from flexoraa.health import health_report, readiness_report
from flexoraa.responses import error_response, wants_json
from flexoraa.tenancy import SESSION_ORGANIZATION_KEY, role_is_managing


class TenantPageMixin(LoginRequiredMixin):
    """Every dashboard page: a signed-in member of an organization. Pages read
    ``self.organization`` and ``self.membership``, query through selectors, and pass
    ``self.actor`` (the member) to every service they call."""

    manager_only = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.organization is None:
            return render(request, "flexoraa/no_membership.html", status=403)
        if self.manager_only and not role_is_managing(request.membership.role):
            raise PermissionDenied("This page is for managers.")
        self.organization = request.organization
        self.membership = request.membership
        self.actor = request.actor
        return super().dispatch(request, *args, **kwargs)


class HomeView(TenantPageMixin, TemplateView):
    """The member's home: the core's figures, then the sections the apps register for the
    member's role (``flexoraa.home``): a manager's pipeline, an SDR's queue."""

    template_name = "flexoraa/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["counts"] = selectors.dashboard_counts(self.organization)
        context["memberships"] = selectors.memberships_for_user(self.request.user)
        context["figure_sections"] = home.render_sections(self.request, slot="figures")
        context["sections"] = home.render_sections(self.request, slot="main")
        return context


class OperationsView(TenantPageMixin, TemplateView):
    """Background jobs: each periodic job with its schedule and its latest run."""

    manager_only = True
    template_name = "flexoraa/operations.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["jobs"] = selectors.periodic_jobs_overview()
        return context


class AvailabilityToggleView(TenantPageMixin, View):
    """An SDR marks themself available or away; htmx swaps the card in place."""

    def post(self, request):
        membership = services.membership_update(
            org=self.organization, membership=self.membership, actor=self.actor,
            is_available=not self.membership.is_available,
        )
        if request.htmx:
            # The card swaps in place; the home sections that show the team's room follow
            # out of band, read after the change.
            request.membership = membership
            card = render_to_string("flexoraa/_availability.html",
                                    {"current_membership": membership}, request=request)
            refreshed = home.render_sections(request, refresh=home.AVAILABILITY, oob=True)
            return HttpResponse(card + "".join(refreshed))
        messages.success(request, "Your availability is updated.")
        return redirect("home")


class SignOutView(LogoutView):
    """POST signs out; a GET (a typed or bookmarked URL) asks to confirm instead of a 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "registration/logout_confirm.html")


@require_POST
def organization_switch(request):
    if not request.user.is_authenticated:
        return redirect("login")
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        organization_id = None
    membership = selectors.memberships_for_user(request.user).filter(
        organization_id=organization_id
    ).first()
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    return redirect("home")


@require_GET
def favicon(request):
    # Resolved per request: in production the hashed name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@never_cache
@require_GET
def healthz(request):
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


@never_cache
@require_GET
def readyz(request):
    ready, report = readiness_report()
    return JsonResponse(report, status=200 if ready else 503)


@csrf_exempt  # it only ever answers 404; a CSRF 403 page here would hide the JSON error
def api_route_not_found(request, *args, **kwargs):
    message = f"No API route matches {request.method} {request.path}."
    if not request.path.endswith("/"):
        with_slash = f"{request.path}/"
        try:
            match = resolve(with_slash)
        except Resolver404:
            match = None
        if match is not None and match.func is not api_route_not_found:
            message += f" Did you mean {with_slash}? Every API route ends with a trailing slash."
    return error_response(status=404, code="not_found", message=message)


def handler403(request, exception=None):
    """A refused page in the layout, with the reason the view gave; JSON callers get the
    API's error shape."""
    reason = str(exception or "").strip()
    if wants_json(request):
        return error_response(status=403, code="permission_denied",
                              message=reason or "You do not have permission to do this.")
    return render(request, "403.html", {"reason": reason}, status=403)


def csrf_failure(request, reason=""):
    """A form sent with a stale or missing CSRF token: most often a page left open across a
    sign-in or a deploy, so the page says to reload rather than "forbidden"."""
    if wants_json(request):
        return error_response(status=403, code="csrf_failed",
                              message="The CSRF check failed; reload the page and try again.")
    return render(request, "403_csrf.html", status=403)


def handler404(request, exception=None):
    if wants_json(request):
        return api_route_not_found(request)
    return render(request, "404.html", status=404)


# Served when anything may be broken (the database, the session, a context processor), so
# the page renders without the request: no context processors, no user, no queries.
_BARE_500 = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Server "
             "error · Flexoraa</title></head><body><h1>Something went wrong</h1><p>It has been "
             "logged. Please try again in a moment.</p><p><a href=\"/\">Back to the home page"
             "</a></p></body></html>")


def handler500(request):
    if wants_json(request):
        return error_response(status=500, code="server_error",
                              message="Something went wrong on our side; it has been logged.")
    try:
        page = render_to_string("500.html")
    except Exception:  # the error page itself must not fail
        page = _BARE_500
    return HttpResponseServerError(page)
