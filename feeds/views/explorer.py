"""Data Explorer: the list of domain tables, and one table page by page (keyset)."""

from __future__ import annotations

import re

from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from feeds import explorer
from feeds.forms import ExplorerFilterForm
from feeds.models import SortIndexBuild
from feeds.readers.canonical_json import value_text
from feeds.selectors import (
    explorer_columns,
    explorer_csv,
    explorer_page,
    explorer_tables,
    feed_get,
    record_type,
    sort_index_build_status,
)
from feeds.services import FeedError, sort_index_request
from feeds.tasks import build_sort_index


def explorer_index(request):
    return render(request, "feeds/explorer.html", {"tables": explorer_tables()})


def _shown(value: object) -> object:
    if isinstance(value, bytes | memoryview | dict | list):
        return value_text(value)
    return value


def _filters(data: dict) -> list[explorer.Filter]:
    column, op = data.get("column"), data.get("op") or "="
    if not column or (op != "empty" and data.get("value", "") == ""):
        return []
    return [explorer.Filter(column, op, data.get("value", ""))]


@require_http_methods(["GET", "HEAD", "POST"])
def explorer_table(request, pk: str):
    feed = feed_get(pk)
    columns = explorer_columns(feed)
    form = ExplorerFilterForm(request.GET, columns=[c for c, _ in columns])
    context = {"feed": feed, "form": form, "columns": columns, "error": ""}
    if not columns:
        context["error"] = f"The table {feed.table_name} does not exist yet: activate the feed."
        return render(request, "feeds/table.html", context, status=404)
    if request.method == "POST":  # "Index this column": queued for the worker, back to the page
        try:
            sort_index_request(
                feed=feed, column=request.POST.get("column", ""), queue=build_sort_index.delay
            )
        except FeedError as exc:
            context["error"] = str(exc)
            return render(request, "feeds/table.html", context, status=400)
        return HttpResponseRedirect(request.get_full_path())
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        context["error"] = f"Check the filter and sort: {problems}"
        return render(request, "feeds/table.html", context, status=400)
    data = form.cleaned_data
    query = {
        "sort": data["sort"] or explorer.PK,
        "descending": data["desc"],
        "filters": _filters(data),
    }
    try:
        if request.GET.get("format") == "csv":
            response = StreamingHttpResponse(
                explorer_csv(feed, **query), content_type="text/csv; charset=utf-8"
            )
            filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", feed.table_name) + ".csv"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        before = request.GET.get("before", "")[:4000] or None
        table_page = explorer_page(feed, after=data["after"] or None, before=before, **query)
    except explorer.ExplorerError as exc:
        context["error"] = str(exc)
        return render(request, "feeds/table.html", context, status=400)
    page, rows, estimated = table_page.page, table_page.rows, table_page.estimated
    # bytea as hex and jsonb as canonical JSON, the way the review page shows them.
    page.rows = [tuple(_shown(v) for v in row) for row in page.rows]
    if explorer.PK in page.columns:  # a compound key's parts are joined by U+001F: show them
        i = page.columns.index(explorer.PK)
        page.rows = [(*r[:i], (r[i] or "").replace("\x1f", " · "), *r[i + 1 :]) for r in page.rows]
    tags = {f.name: f.semantic_tag for f in feed.fields.all()}
    base = request.GET.copy()
    for key in ("after", "before", "page", "format"):
        base.pop(key, None)
    header = []
    for c, t in columns:
        link = base.copy()
        link["sort"] = c
        link.pop("desc", None)
        if page.sort == c and not page.descending:
            link["desc"] = "on"  # a second click sorts descending
        header.append((c, t, tags.get(c, ""), link.urlencode()))
    page_no = data["page"] or 1
    next_query = base.copy()
    if page.next_after:
        next_query["after"] = page.next_after
        next_query["page"] = str(page_no + 1)
    prev_query = base.copy()
    if page.prev_before and page_no > 2:
        prev_query["before"] = page.prev_before
        prev_query["page"] = str(page_no - 1)
    csv_query = base.copy()
    csv_query["format"] = "csv"
    context.update(
        {
            "page": page,
            "page_no": page_no,
            "header": header,
            "row_count": rows,
            "estimated": estimated,
            "record_type": record_type(feed),
            "operators": explorer.OPERATORS,
            "next_query": next_query.urlencode() if page.next_after else "",
            "has_prev": bool(page.prev_before),
            "prev_query": prev_query.urlencode(),
            "csv_query": csv_query.urlencode(),
            "slow_sort": table_page.slow_sort,
            "index_build": table_page.index_build,
            "self_query": request.GET.urlencode(),
            "first_query": base.urlencode(),
        }
    )
    return render(request, "feeds/table.html", context)


def sort_index_status(request, pk: str):
    """The "Building an index" notice, polled by htmx; reloads the page once the index is done."""
    feed = feed_get(pk)
    build, progress = sort_index_build_status(feed, request.GET.get("column", ""))
    response = render(
        request,
        "feeds/_sort_index_status.html",
        {"feed": feed, "build": build, "progress": progress},
    )
    if build is not None and build.status == SortIndexBuild.Status.DONE:
        response["HX-Refresh"] = "true"
    return response
