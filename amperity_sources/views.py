"""The Sources page composes each app's section; it holds no business logic."""

from django.http import HttpResponse
from django.shortcuts import render

from courier_groups.selectors import groups_for_sources_page
from couriers.selectors import couriers_for_sources_page, runs_waiting_for_task_queue
from feeds.selectors import domain_tables_for_sources_page, feeds_for_sources_page

from .status import database_ok, launcher_status, task_queue_ok


def sources(request):
    return render(
        request,
        "sources.html",
        {
            "couriers": couriers_for_sources_page(),
            "feeds": feeds_for_sources_page(),
            "domain_tables": domain_tables_for_sources_page(),
            "groups": groups_for_sources_page(),
        },
    )


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def status(request):
    """The processes the launcher supervises (state, restarts, last error) and live checks."""
    return render(
        request,
        "status.html",
        {
            "stack": launcher_status(),
            "database_error": database_ok(),
            "queue_error": task_queue_ok(),
            "waiting_runs": runs_waiting_for_task_queue(),
        },
    )
