import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from flexoraa.celery import app, time_limit_problem

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "s3cr3t-" + "k" * 30 + "-ZyXwVuTsRqPoNmLkJiH-0987654321"
PRODUCTION = {
    "DJANGO_ENV": "production", "SECRET_KEY": STRONG_SECRET, "ALLOWED_HOSTS": "leads.example.com",
    "DATABASE_URL": "postgres://flexoraa@db.internal:5432/flexoraa",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "RAZORPAY_KEY_ID": "rzp_live_Example000001", "RAZORPAY_KEY_SECRET": "live-key-secret-example",
    "RAZORPAY_WEBHOOK_SECRET": "live-webhook-secret-example",
    "META_APP_SECRET": "live-meta-app-secret-example", "META_VERIFY_TOKEN": "live-verify-token",
    "GOOGLE_CLIENT_ID": "1234-live.apps.googleusercontent.com",
    "GOOGLE_CLIENT_SECRET": "live-google-client-secret",
    "CHANNEL_TOKEN_KEY": "bGl2ZS1jaGFubmVsLWtleS0zMi1ieXRlcy1leGFtcGw=",
}
RAZORPAY_SETTINGS = {"RAZORPAY_BASE_URL", "RAZORPAY_CHECKOUT_JS", "RAZORPAY_TIMEOUT_SECONDS"}


def run_manage(*args, **env_overrides):
    env = {key: value for key, value in os.environ.items()
           if key not in {*PRODUCTION, *RAZORPAY_SETTINGS, "DEBUG", "CACHE_URL"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )


def test_production_mode_passes_the_deploy_checks_at_warning_level():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("missing", "named"), [
    ("SECRET_KEY", "SECRET_KEY"), ("ALLOWED_HOSTS", "ALLOWED_HOSTS"),
    ("DATABASE_URL", "DATABASE_URL=postgres"), ("CELERY_BROKER_URL", "CELERY_BROKER_URL=redis"),
    ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_ID"), ("RAZORPAY_KEY_SECRET", "RAZORPAY_KEY_SECRET"),
    ("RAZORPAY_WEBHOOK_SECRET", "RAZORPAY_WEBHOOK_SECRET"),
])
def test_production_mode_refuses_to_start_without_what_it_needs(missing, named):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


PRINT_RAZORPAY = ("from django.conf import settings as s; "
                  "print(s.RAZORPAY_BASE_URL, s.RAZORPAY_CHECKOUT_JS, s.RAZORPAY_KEY_ID)")


def test_production_talks_to_razorpay_itself_unless_told_otherwise():
    result = run_manage("shell", "--no-imports", "-c", PRINT_RAZORPAY, **PRODUCTION,
                        RAZORPAY_BASE_URL="", RAZORPAY_CHECKOUT_JS="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["https://api.razorpay.com/v1",
                                     "https://checkout.razorpay.com/v1/checkout.js",
                                     "rzp_live_Example000001"]


@pytest.mark.parametrize("variable", ["RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET",
                                      "RAZORPAY_WEBHOOK_SECRET"])
def test_production_refuses_an_empty_razorpay_credential(variable):
    result = run_manage("check", **{**PRODUCTION, variable: ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "must not be empty" in result.stderr


def test_production_refuses_the_sandboxs_public_credentials():
    from django.conf import settings

    result = run_manage("check", **{
        **PRODUCTION, "RAZORPAY_WEBHOOK_SECRET": settings.RAZORPAY_SANDBOX_WEBHOOK_SECRET})
    assert result.returncode != 0
    assert "public sandbox credentials" in result.stderr


def test_production_refuses_razorpay_urls_that_are_not_https():
    result = run_manage("check", **PRODUCTION, RAZORPAY_BASE_URL="http://127.0.0.1:8010/v1")
    assert result.returncode != 0
    assert "must be https:// URLs in production" in result.stderr


def test_development_defaults_to_the_local_razorpay_sandbox_with_its_own_checkout():
    from django.conf import settings

    result = run_manage("shell", "--no-imports", "-c", PRINT_RAZORPAY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["http://127.0.0.1:8010/v1",
                                     "http://127.0.0.1:8010/v1/checkout.js",
                                     settings.RAZORPAY_SANDBOX_KEY_ID]
    assert settings.RAZORPAY_SANDBOX_KEY_ID.startswith("rzp_test_sandbox")
    moved = run_manage("shell", "--no-imports", "-c", PRINT_RAZORPAY,
                       RAZORPAY_BASE_URL="http://127.0.0.1:9123/v1")
    assert moved.stdout.split()[:2] == ["http://127.0.0.1:9123/v1",
                                        "http://127.0.0.1:9123/v1/checkout.js"]


@pytest.mark.parametrize("variable", ["META_APP_SECRET", "META_VERIFY_TOKEN", "GOOGLE_CLIENT_ID",
                                      "GOOGLE_CLIENT_SECRET", "CHANNEL_TOKEN_KEY"])
def test_production_refuses_to_start_without_a_channel_secret(variable):
    result = run_manage("check", **{**PRODUCTION, variable: ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr


def test_production_refuses_the_provider_sandboxs_public_channel_secrets():
    from django.conf import settings

    result = run_manage("check", **{**PRODUCTION,
                                    "META_APP_SECRET": settings.META_SANDBOX_APP_SECRET})
    assert result.returncode != 0
    assert "public sandbox value" in result.stderr


def test_production_talks_to_meta_and_google_over_https_only():
    result = run_manage("check", **PRODUCTION, META_GRAPH_URL="http://127.0.0.1:8010/graph/v21.0")
    assert result.returncode != 0
    assert "must be https:// in production" in result.stderr
    printed = run_manage("shell", "--no-imports", "-c",
                         "from django.conf import settings as s; "
                         "print(s.META_GRAPH_URL, s.GMAIL_API_URL, s.GOOGLE_OAUTH_TOKEN_URL)",
                         **PRODUCTION)
    assert printed.stdout.split() == ["https://graph.facebook.com/v21.0",
                                      "https://gmail.googleapis.com",
                                      "https://oauth2.googleapis.com/token"]


def test_an_unknown_environment_name_is_refused():
    result = run_manage("check", DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


def test_a_task_time_limit_at_or_above_the_visibility_timeout_is_refused():
    assert time_limit_problem(600, {"visibility_timeout": 3600}) is None
    assert time_limit_problem(600, {}) is None  # the filesystem broker never redelivers
    assert "must be below" in time_limit_problem(3600, {"visibility_timeout": 3600})
    assert "must be below" in time_limit_problem(None, {"visibility_timeout": 3600})


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_worker_and_beat_refuse_to_start_with_a_time_limit_above_the_visibility_timeout(
    process, tmp_path
):
    # Nothing listens on port 9 and the database is new and empty: the refusal must come
    # before any broker connection or database query.
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update({"CELERY_BROKER_URL": "redis://127.0.0.1:9/0", "FLEXORAA_VAR_DIR": str(tmp_path),
                "CELERY_TASK_TIME_LIMIT": "4000", "CELERY_VISIBILITY_TIMEOUT": "3600"})
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "flexoraa", process, "--loglevel", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "Refusing to start: CELERY_TASK_TIME_LIMIT (4000s) must be below the broker " \
           "visibility timeout (3600s)." in result.stdout + result.stderr


@override_settings(CELERY_TASK_TIME_LIMIT=4000,
                   CELERY_BROKER_TRANSPORT_OPTIONS={"visibility_timeout": 3600})
def test_the_system_check_reports_a_time_limit_above_the_visibility_timeout():
    errors = [e for e in run_checks() if e.id == "flexoraa.E001"]
    assert len(errors) == 1 and "visibility" in errors[0].msg


def test_the_configured_limits_are_consistent():
    assert time_limit_problem(app.conf.task_time_limit, app.conf.broker_transport_options) is None
    assert app.conf.task_acks_late is True
    assert {queue.name for queue in app.conf.task_queues} == {
        "webhooks", "ai", "periodic", "default"
    }
    # Each queue has its own routing key, so a message lands in exactly one queue.
    assert {queue.routing_key for queue in app.conf.task_queues} == {
        "webhooks", "ai", "periodic", "default"
    }


def test_periodic_tasks_route_to_the_periodic_queue():
    from flexoraa.tasks import audit_chain_check

    assert audit_chain_check.queue == "periodic"


def test_every_environment_variable_the_settings_read_is_documented():
    import re

    settings_source = "\n".join(
        path.read_text() for path in (ROOT / "flexoraa" / "settings").glob("*.py"))
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "found no env.<type>(...) reads in the settings"
    assert read - documented == set(), "add these to .env.example with their meaning"
