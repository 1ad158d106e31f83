"""The Sources page composes each app's section; it holds no business logic."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render

from courier_groups.selectors import groups_for_sources_page
from couriers.selectors import couriers_for_sources_page
from feeds.selectors import domain_tables_for_sources_page, feeds_for_sources_page


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
