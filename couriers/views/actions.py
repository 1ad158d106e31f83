"""Courier detail page and row actions: Make a copy, Delete (each confirmed, POST only)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from couriers.forms import PatternTestForm
from couriers.models import Courier
from couriers.services.couriers import courier_copy, courier_delete
from feeds.models import Feed

from .drafts import entity_rows

RECENT = 20


def detail(request, pk: int):
    courier = get_object_or_404(
        Courier.objects.select_related("credential", "pgp_credential"), pk=pk
    )
    if courier.kind == Courier.Kind.HEAP:  # dumps, identity tables, new columns
        return redirect("couriers:heap_detail", courier.pk)
    feeds = Feed.objects.select_related("data_source").in_bulk(list(courier.load_operations))
    first_pattern = next(
        (e.get("object/file-pattern", "") for e in courier.entities if isinstance(e, dict)), ""
    )
    return render(
        request,
        "couriers/detail.html",
        {
            "courier": courier,
            "entities_json": json.dumps(courier.entities, indent=2, ensure_ascii=False),
            "load_operations": [
                (feed_id, feeds.get(feed_id), [(op, json.dumps(op)) for op in ops])
                for feed_id, ops in courier.load_operations.items()
            ],
            "load_operations_json": json.dumps(
                courier.load_operations, indent=2, ensure_ascii=False
            ),
            "entity_rows": entity_rows(courier.entities),
            "pattern_form": PatternTestForm(initial={"pattern": first_pattern}),
            "landed": courier.landed_files.all()[:RECENT],
            "runs": courier.runs.all()[:RECENT],
        },
    )


@require_http_methods(["GET", "POST"])
def copy(request, pk: int):
    """GET confirms; POST creates "<name> (copy)" and opens it in the editor."""
    courier = get_object_or_404(Courier, pk=pk)
    if request.method == "POST":
        clone = courier_copy(courier=courier)
        messages.success(request, f"Created “{clone}”. Review it, then save.")
        return redirect("couriers:edit", clone.pk)
    return render(request, "couriers/confirm_copy.html", {"courier": courier})


@require_http_methods(["GET", "POST"])
def delete(request, pk: int):
    """GET asks for confirmation; POST deletes."""
    courier = get_object_or_404(Courier, pk=pk)
    if request.method == "POST":
        try:
            courier_delete(courier=courier)
        except ValidationError as exc:
            return render(
                request,
                "couriers/confirm_delete.html",
                {"courier": courier, "error": " ".join(exc.messages)},
                status=409,
            )
        messages.success(request, f"Courier “{courier.name}” deleted.")
        return redirect("sources")
    return render(request, "couriers/confirm_delete.html", {"courier": courier})
