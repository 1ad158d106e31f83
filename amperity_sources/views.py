"""The Sources page composes each app's section; it holds no business logic."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import requires_csrf_token

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


@login_not_required  # for load balancers and the compose health check
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@requires_csrf_token
def server_error(request):
    """The styled 500 page, rendered without the request or the database: either may be
    what failed. (Django has already logged the exception with its traceback.)"""
    try:
        home = reverse("sources")
    except NoReverseMatch:
        home = "/"
    try:
        body = loader.get_template("500.html").render({"home_url": home})
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        logging.getLogger(__name__).exception("the 500 page could not be rendered")
        body = "<h1>Server Error (500)</h1>"
    return HttpResponseServerError(body)


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
