"""The operations page: the periodic jobs, their schedules and latest runs, for managers only
(they left the home page)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from flexoraa import jobs, navigation
from flexoraa.models import JobRun, Role
from tests.factories import make_membership

pytestmark = pytest.mark.django_db


def test_a_manager_sees_each_job_with_its_schedule_and_latest_outcome(manager, login_client):
    jobs.job_run("flexoraa.audit_chain_check", lambda: {})
    response = login_client(manager).get("/operations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Operations</h1>" in page
    assert "flexoraa.audit_chain_check" in page
    assert '<span class="pill ok">succeeded</span>' in page
    assert '<a href="/operations/" aria-current="page">Operations</a>' in page


def test_a_paused_job_says_so(manager, login_client):
    PeriodicTask.objects.filter(name="flexoraa.audit_chain_check").update(enabled=False)
    page = login_client(manager).get("/operations/").content.decode()
    assert 'flexoraa.audit_chain_check <span class="pill muted">paused</span>' in page


def test_an_sdr_cannot_open_the_operations_page_nor_sees_its_link(sdr, login_client):
    client = login_client(sdr)
    assert client.get("/operations/").status_code == 403
    assert 'href="/operations/"' not in client.get("/").content.decode()
    assert "Operations" not in [link.label for link in
                                navigation.links_for("main", role=Role.SDR)]


def test_the_operations_page_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/operations/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/operations/"


def test_the_home_page_no_longer_lists_the_background_jobs(manager, login_client):
    page = login_client(manager).get("/").content.decode()
    assert "Background jobs" not in page and "flexoraa.audit_chain_check" not in page
    assert '<a href="/operations/">Operations</a>' in page


def _runs(count: int):
    names = list(PeriodicTask.objects.exclude(name__startswith="celery.")
                 .values_list("name", flat=True))
    now = timezone.now()
    JobRun.objects.bulk_create([
        JobRun(name=names[index % len(names)], started_at=now - timedelta(minutes=index),
               outcome=JobRun.Outcome.SUCCEEDED)
        for index in range(count)
    ])


def test_the_operations_page_runs_the_same_queries_for_2_runs_as_for_20(
    org, manager, login_client, django_assert_num_queries
):
    client = login_client(manager)
    _runs(2)
    make_membership(org, role=Role.SDR)
    client.get("/operations/")
    with django_assert_num_queries(4):
        assert client.get("/operations/").status_code == 200
    _runs(18)
    for _ in range(19):
        make_membership(org, role=Role.SDR)
    with django_assert_num_queries(4):
        client.get("/operations/")
