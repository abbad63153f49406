"""Experiments in the manager console: the list, each experiment with its variants and
kill-switch thresholds, creating one through ``services.experiment_create``, and starting,
stopping and rolling a variant back, each after a page that says what will happen.

Nothing here writes by itself: every change is a service call with the manager as actor, and
a service's refusal is an error message on the page, never a 500. Variants are read-only once
created: their weights and order pin every subject's bucket.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from experiments import selectors, services
from experiments.errors import ExperimentInvalid
from experiments.models import Experiment, ExperimentStatus, Variant
from flexoraa.admin import TenantAdmin, console_actor, is_tenant_manager
from flexoraa.errors import FlexoraaError
from flexoraa.form_fields import BoundedJSONFormField
from flexoraa.models import Organization

VARIANT_ROWS = 5
MAX_VARIANT_ROWS = 20


def may_run_experiments(request) -> bool:
    return request.user.is_superuser or is_tenant_manager(request)


def local_moment(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def percent_rise(value: float) -> str:
    return f"+{value * 100:.0f} %"


# --- creating ------------------------------------------------------------------------------

class ExperimentCreateForm(forms.Form):
    """Only shapes what was typed; ``services.experiment_create`` decides, and its refusals
    are shown by the field they name."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"),
                                          help_text="The organization the experiment is for.")
    name = forms.CharField(max_length=120)
    key = forms.CharField(
        max_length=64, required=False,
        help_text="Seeds the assignment hash and never changes. Leave it blank to derive it "
                  "from the name.")
    target_metric = forms.CharField(
        max_length=64, initial="conversion",
        help_text="The observation whose values above 0 count as conversions, e.g. "
                  "conversion or meeting_booked.")
    min_sample_per_variant = forms.IntegerField(
        label="Minimum sample per variant", min_value=1, max_value=10**9,
        help_text="Subjects a variant and control each need before a verdict.")
    duration_days = forms.IntegerField(label="Duration (days)", min_value=1, max_value=365,
                                       initial=14)

    def __init__(self, *args, pick_organization: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["min_sample_per_variant"].initial = settings.AB_TEST_MIN_SAMPLE_SIZE
        if not pick_organization:
            del self.fields["organization"]


class ThresholdsForm(forms.Form):
    """The kill-switch thresholds in whole percent, as managers think of them."""

    kill_error_rate_up = forms.IntegerField(label="Error rate up by more than (%)",
                                            min_value=1, max_value=10_000)
    kill_response_time_up = forms.IntegerField(label="Response time up by more than (%)",
                                               min_value=1, max_value=10_000)
    kill_hallucination_rate_up = forms.IntegerField(
        label="Hallucination rate up by more than (%)", min_value=1, max_value=10_000)
    kill_objection_rate_up = forms.IntegerField(label="Objection rate up by more than (%)",
                                                min_value=1, max_value=10_000)
    kill_min_exposure = forms.IntegerField(
        label="Subjects each arm needs before the switches judge it", min_value=1,
        max_value=10**9)

    PERCENT_FIELDS = ("kill_error_rate_up", "kill_response_time_up",
                      "kill_hallucination_rate_up", "kill_objection_rate_up")

    @classmethod
    def initial_for(cls, experiment: Experiment) -> dict:
        initial = {field: round(getattr(experiment, field) * 100) for field in cls.PERCENT_FIELDS}
        initial["kill_min_exposure"] = experiment.kill_min_exposure
        return initial

    def changes(self) -> dict:
        data = self.cleaned_data
        changes = {field: data[field] / 100 for field in self.PERCENT_FIELDS}
        changes["kill_min_exposure"] = data["kill_min_exposure"]
        return changes


class ConfigField(BoundedJSONFormField):
    def prepare_value(self, value):
        # A row left without a config shows an empty box again, not "null".
        return "" if value is None else super().prepare_value(value)


class VariantRowForm(forms.Form):
    key = forms.CharField(max_length=64, required=False)
    name = forms.CharField(max_length=120, required=False)
    is_control = forms.BooleanField(required=False, label="Control")
    weight = forms.IntegerField(required=False, min_value=0, max_value=100, label="Weight (%)")
    config = ConfigField(required=False, label="Config (JSON)", widget=forms.TextInput(
        attrs={"placeholder": '{"tactic": "scarcity"}'}))

    def row(self) -> dict | None:
        """The variant as the service takes it; None for a row left blank."""
        data = self.cleaned_data
        if not any(data.get(name) not in (None, "", False) for name in
                   ("key", "name", "is_control", "weight", "config")):
            return None
        row = {"key": data["key"], "name": data["name"], "is_control": data["is_control"],
               "config": data["config"] if data["config"] is not None else {}}
        if data["weight"] is not None:
            row["weight"] = data["weight"]
        return row


VariantRowFormSet = forms.formset_factory(VariantRowForm, extra=0, max_num=MAX_VARIANT_ROWS,
                                          validate_max=True)


def variant_formset(data=None) -> forms.BaseFormSet:
    initial = [{"key": "control", "name": "Control", "is_control": True}]
    formset = VariantRowFormSet(data, prefix="variants", initial=None if data else initial)
    if data is None:
        formset.extra = VARIANT_ROWS - len(initial)
    return formset


# --- the variants, read-only ---------------------------------------------------------------

class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    can_delete = False
    fields = ["key", "name", "is_control", "weight", "config", "rolled_back_at", "roll_back"]
    readonly_fields = fields
    ordering = ["id"]
    verbose_name_plural = "Variants (fixed once created: their weights and order pin the buckets)"

    def has_view_permission(self, request, obj=None):
        return may_run_experiments(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="roll back")
    def roll_back(self, variant):
        if (variant.is_control or variant.is_rolled_back
                or variant.experiment.status != ExperimentStatus.RUNNING):
            return "—"
        url = reverse("admin:experiments_experiment_rollback",
                      args=[variant.experiment_id, variant.pk])
        return format_html('<a href="{}" data-testid="rollback-{}">Roll back…</a>', url,
                           variant.key)


# --- the experiment ------------------------------------------------------------------------

@admin.register(Experiment)
class ExperimentAdmin(TenantAdmin):
    list_display = ["name", "key", "status", "started_at", "ends", "variant_weights",
                    "results_link"]
    list_filter = ["status"]
    search_fields = ["name", "key"]
    ordering = ["-created_at", "-id"]
    inlines = [VariantInline]
    manager_can_add = True
    change_form_template = "admin/experiments/experiment/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "key", "status", "target_metric", "min_sample_per_variant",
                           "results_link"]}),
        ("Schedule", {"fields": ["created_at", "started_at", "duration_days", "ends",
                                 "ended_at"]}),
        ("Kill-switch thresholds (the rise over control that rolls a variant back)", {
            "fields": ["error_rate_up", "response_time_up", "hallucination_rate_up",
                       "objection_rate_up", "kill_min_exposure"]}),
    ]
    readonly_fields = ["name", "key", "status", "target_metric", "min_sample_per_variant",
                       "results_link", "created_at", "started_at", "duration_days", "ends",
                       "ended_at", "error_rate_up", "response_time_up", "hallucination_rate_up",
                       "objection_rate_up", "kill_min_exposure"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("id")))

    # Every change goes through a service (the actions below): nobody edits or deletes an
    # experiment's row here, superusers included.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- columns and read-only fields ---

    @admin.display(description="ends")
    def ends(self, experiment):
        if experiment.ended_at is not None:
            return f"ended {local_moment(experiment.ended_at)}"
        if experiment.started_at is None:
            return f"{experiment.duration_days} days after the start"
        return local_moment(experiment.started_at + timedelta(days=experiment.duration_days))

    @admin.display(description="variants")
    def variant_weights(self, experiment):
        return format_html_join(
            " · ", "{} {} %{}",
            ((v.name, v.weight, " (control)" if v.is_control else
              " (rolled back)" if v.is_rolled_back else "")
             for v in experiment.variants.all()),
        )

    @admin.display(description="results")
    def results_link(self, experiment):
        return format_html('<a href="{}" data-testid="results-link">Results</a>',
                           reverse("experiments:detail", args=[experiment.pk]))

    @admin.display(description="error rate up")
    def error_rate_up(self, experiment):
        return percent_rise(experiment.kill_error_rate_up)

    @admin.display(description="response time up")
    def response_time_up(self, experiment):
        return percent_rise(experiment.kill_response_time_up)

    @admin.display(description="hallucination rate up")
    def hallucination_rate_up(self, experiment):
        return percent_rise(experiment.kill_hallucination_rate_up)

    @admin.display(description="objection rate up")
    def objection_rate_up(self, experiment):
        return percent_rise(experiment.kill_objection_rate_up)

    # --- creating through the service ---

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        pick_organization = request.user.is_superuser
        variant_errors = []
        if request.method == "POST":
            form = ExperimentCreateForm(request.POST, pick_organization=pick_organization)
            formset = variant_formset(request.POST)
            if form.is_valid() and formset.is_valid():
                created = self._create(request, form, formset, variant_errors)
                if created is not None:
                    self.message_user(
                        request, f"Created the draft experiment “{created.name}”. Check its "
                                 "variants, then start it.", messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:experiments_experiment_change", args=[created.pk]))
        else:
            form = ExperimentCreateForm(pick_organization=pick_organization,
                                        initial={"organization": request.organization})
            formset = variant_formset()
        presets = [(key, preset, ", ".join(f"{v['name']} {v['weight']} %"
                                            for v in preset.variants))
                   for key, preset in services.PRESETS.items()]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Add experiment", "form": form, "formset": formset, "presets": presets,
            "pick_organization": pick_organization,
            "variant_errors": variant_errors + list(formset.non_form_errors()),
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/experiments/experiment/add.html", context)

    def _create(self, request, form, formset, variant_errors: list) -> Experiment | None:
        org = form.cleaned_data.get("organization") or request.organization
        rows = [row for row in (f.row() for f in formset.forms) if row is not None]
        data = form.cleaned_data
        try:
            return services.experiment_create(
                org=org, name=data["name"], key=data["key"] or None,
                target_metric=data["target_metric"], variants=rows,
                min_sample_per_variant=data["min_sample_per_variant"],
                duration_days=data["duration_days"], actor=console_actor(request, org),
            )
        except ExperimentInvalid as exc:
            for field, reasons in exc.fields.items():
                for reason in reasons:
                    if field in form.fields:
                        form.add_error(field, reason)
                    else:
                        variant_errors.append(reason)
        return None

    def preset_view(self, request):
        """POST a preset's key: the ready-made experiment is created as a draft, for the
        manager's organization (a superuser's pick)."""
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        org = request.organization
        if request.user.is_superuser and request.POST.get("organization"):
            org = Organization.objects.filter(pk=request.POST["organization"]).first()
        if org is None:
            self.message_user(request, "Choose the organization the experiment is for.",
                              messages.ERROR)
            return HttpResponseRedirect(reverse("admin:experiments_experiment_add"))
        try:
            created = services.experiment_preset_create(
                org=org, preset=request.POST.get("preset"), actor=console_actor(request, org))
        except FlexoraaError as exc:
            self.message_user(request, exc.message.split(": ", 1)[-1], messages.ERROR)
            return HttpResponseRedirect(reverse("admin:experiments_experiment_add"))
        self.message_user(request, f"Created the draft experiment “{created.name}”. Check its "
                                   "variants, then start it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:experiments_experiment_change",
                                            args=[created.pk]))

    # --- start, stop, roll back: each confirmed first ---

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path("preset/", view(self.preset_view), name="experiments_experiment_preset"),
            path("<path:object_id>/start/", view(self.start_view),
                 name="experiments_experiment_start"),
            path("<path:object_id>/stop/", view(self.stop_view),
                 name="experiments_experiment_stop"),
            path("<path:object_id>/rollback/<int:variant_id>/", view(self.rollback_view),
                 name="experiments_experiment_rollback"),
            path("<path:object_id>/thresholds/", view(self.thresholds_view),
                 name="experiments_experiment_thresholds"),
            *super().get_urls(),
        ]

    def _experiment(self, request, object_id) -> Experiment:
        """The experiment through the tenant-scoped queryset: another tenant's id is the same
        404 as one that does not exist."""
        if not may_run_experiments(request):
            raise PermissionDenied
        experiment = self.get_object(request, unquote(object_id))
        if experiment is None:
            raise Http404("No such experiment.")
        return experiment

    def _confirm(self, request, experiment, *, title, explanation, button, run, done,
                 variant=None):
        change_url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
        if request.method == "POST":
            org = experiment.organization
            try:
                run(org, console_actor(request, org))
            except FlexoraaError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": title, "experiment": experiment, "variant": variant,
            "explanation": explanation, "button": button, "cancel_url": change_url,
            "original": experiment, "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/experiments/experiment/confirm.html", context)

    def start_view(self, request, object_id):
        experiment = self._experiment(request, object_id)
        arms = ", ".join(f"{v.name} {v.weight} %" for v in experiment.variants.all())
        explanation = (
            f"Starting “{experiment.name}” assigns every lead it sees from now on to a variant "
            f"({arms}), and keeps it there. It runs for {experiment.duration_days} days; each "
            f"variant gets a verdict once it and control have "
            f"{experiment.min_sample_per_variant:,} subjects. The kill-switches watch every "
            f"variant from the start.")
        return self._confirm(
            request, experiment, title=f"Start {experiment.name}?", explanation=explanation,
            button="Start the experiment",
            run=lambda org, actor: services.experiment_start(org=org, experiment=experiment,
                                                             actor=actor),
            done=f"Started “{experiment.name}”.")

    def stop_view(self, request, object_id):
        experiment = self._experiment(request, object_id)
        subjects = sum(n for n, _ in selectors.experiment_counts(
            experiment.organization, experiment).values())
        explanation = (
            f"Stopping “{experiment.name}” gives every lead control from their next message. "
            f"The {subjects:,} subjects assigned and every observation are kept, and the "
            f"results stay readable. A stopped experiment is not started again.")
        return self._confirm(
            request, experiment, title=f"Stop {experiment.name}?", explanation=explanation,
            button="Stop the experiment",
            run=lambda org, actor: services.experiment_stop(org=org, experiment=experiment,
                                                            actor=actor),
            done=f"Stopped “{experiment.name}”: everyone gets control from now on.")

    def rollback_view(self, request, object_id, variant_id):
        experiment = self._experiment(request, object_id)
        variants = list(experiment.variants.all())
        variant = next((v for v in variants if v.pk == variant_id), None)
        if variant is None:
            raise Http404("No such variant.")
        subjects = selectors.experiment_counts(experiment.organization, experiment).get(
            variant.pk, (0, 0))[0]
        others = [v for v in variants if not v.is_control and not v.is_rolled_back
                  and v.pk != variant.pk]
        explanation = (
            f"Rolling back {variant.name} sends its {subjects:,} "
            f"subject{'s' if subjects != 1 else ''} to control from their next message; the "
            f"other variants do not move.")
        if not variant.is_control and not variant.is_rolled_back and not others:
            explanation += (" It is the last variant left beside control, so the whole "
                            "experiment rolls back and ends.")
        return self._confirm(
            request, experiment, variant=variant, title=f"Roll back {variant.name}?",
            explanation=explanation, button=f"Roll back {variant.name}",
            run=lambda org, actor: services.variant_rollback(
                org=org, experiment=experiment, variant=variant, actor=actor),
            done=f"Rolled back {variant.name}: its subjects get control from now on.")

    def thresholds_view(self, request, object_id):
        """The kill-switch thresholds of a draft or running experiment, changed through
        ``experiment_thresholds_update``; its refusals show on the form."""
        experiment = self._experiment(request, object_id)
        change_url = reverse("admin:experiments_experiment_change", args=[experiment.pk])
        form = ThresholdsForm(request.POST if request.method == "POST" else None,
                              initial=ThresholdsForm.initial_for(experiment))
        if request.method == "POST" and form.is_valid():
            org = experiment.organization
            try:
                services.experiment_thresholds_update(
                    org=org, experiment=experiment, actor=console_actor(request, org),
                    **form.changes())
            except FlexoraaError as exc:
                for field, reasons in exc.fields.items():
                    for reason in reasons:
                        form.add_error(field if field in form.fields else None, reason)
            else:
                self.message_user(request, f"Saved the kill-switch thresholds of "
                                           f"“{experiment.name}”.", messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Kill-switch thresholds of {experiment.name}", "experiment": experiment,
            "form": form, "cancel_url": change_url, "original": experiment,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/experiments/experiment/thresholds.html",
                                context)
