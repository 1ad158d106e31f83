"""Heap: connect (credential, bucket → tables found → create), the Heap courier page, and its
POST-only actions (Activate all, Add new columns to feeds)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from couriers.heap.columns import heap_columns_add, heap_pending_columns
from couriers.heap.discovery import DiscoveryError, heap_discover, table_order
from couriers.heap.forms import HeapConnectForm
from couriers.heap.setup import heap_courier_create, heap_feeds, heap_feeds_activate
from couriers.models import Courier
from couriers.s3 import S3Error
from credentials.services import credential_test, s3_client
from feeds.models import Feed
from feeds.selectors import heap_identity_tables
from feeds.services import FeedError

CONNECT_FIELDS = ("name", "credential", "bucket", "prefix", "data_source")


def _discover(form: HeapConnectForm):
    """Test the connection and read the manifests; errors go next to the field concerned."""
    data = form.cleaned_data
    result = credential_test(
        credential=data["credential"], bucket=data["bucket"], prefix=data["prefix"]
    )
    if not result.ok:
        field = (
            "credential" if result.problem in ("invalid_credentials", "undecryptable") else "bucket"
        )
        form.add_error(field, f"{result.message} {result.suggestion}".strip())
        return None
    try:
        return heap_discover(s3_client(data["credential"]), data["bucket"], data["prefix"])
    except DiscoveryError as exc:
        form.add_error("prefix" if data["prefix"] else "bucket", str(exc))
        return None
    except S3Error as exc:  # the bucket answered the test, then failed a listing or read
        form.add_error("bucket", str(exc.problem))
        return None


def heap_add(request):
    """Step 1: where the export is. Step 2 (after Continue): the tables found, to pick."""
    action = request.POST.get("action", "")
    if request.method != "POST" or action == "change":
        # "Change" goes back to step 1 with the values kept.
        kept = {k: request.POST[k] for k in CONNECT_FIELDS if k in request.POST}
        form = HeapConnectForm(initial=kept)
        return render(request, "couriers/heap_add.html", {"form": form, "step": 1})
    form = HeapConnectForm(request.POST, table_names=request.POST.getlist("tables"))
    discovery = _discover(form) if form.is_valid() else None
    if discovery is None:
        return render(request, "couriers/heap_add.html", {"form": form, "step": 1}, status=400)
    form = HeapConnectForm(request.POST, table_names=[t.name for t in discovery.tables])
    form.is_valid()
    hidden = [(k, request.POST.get(k, "")) for k in CONNECT_FIELDS]
    context = {"form": form, "step": 2, "discovery": discovery, "hidden": hidden}
    if action != "create":
        context["selected"] = [t.name for t in discovery.tables]
        return render(request, "couriers/heap_add.html", context)
    data = form.cleaned_data
    chosen = [t for t in discovery.tables if t.name in data.get("tables", [])]
    context["selected"] = [t.name for t in chosen]
    try:
        courier = heap_courier_create(
            name=data["name"],
            credential=data["credential"],
            bucket=data["bucket"],
            prefix=data["prefix"],
            tables=chosen,
            data_source=data["data_source"],
        )
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return render(request, "couriers/heap_add.html", context, status=400)
    messages.success(
        request,
        f"Created the courier “{courier.name}” and {len(chosen)} draft feeds. Review them in "
        "the Feed Editor, then activate them and run the courier.",
    )
    return redirect("couriers:heap_detail", courier.pk)


def _identity(feeds: dict[str, Feed]) -> list[dict]:
    users = feeds.get("users")
    if users is None or "user_migrations" not in feeds:
        return []
    prefix = users.data_source.name
    return heap_identity_tables((f"{prefix}:User identity", f"{prefix}:Users merged"))


def heap_detail(request, pk: int):
    courier = get_object_or_404(Courier.objects.select_related("credential"), pk=pk)
    if courier.kind != Courier.Kind.HEAP:
        return redirect("couriers:detail", courier.pk)
    feeds = heap_feeds(courier)
    rows = [(table, feeds[table]) for table in sorted(feeds, key=table_order)]
    return render(
        request,
        "couriers/heap_detail.html",
        {
            "courier": courier,
            "feeds": rows,
            "drafts": [f for f in feeds.values() if f.status == Feed.Status.DRAFT],
            "dumps": courier.heap_dumps.select_related("run")[:50],
            "pending": heap_pending_columns(courier),
            "identity": _identity(feeds),
            "runs": courier.runs.all()[:5],
        },
    )


@require_POST
def heap_activate(request, pk: int):
    courier = get_object_or_404(Courier, pk=pk, kind=Courier.Kind.HEAP)
    failed = heap_feeds_activate(courier=courier)
    for feed, problem in failed:
        messages.error(request, f"{feed.table_name} was not activated: {problem}")
    if not failed:
        messages.success(request, "Every Heap feed is active. Run the courier to load the dumps.")
    return redirect("couriers:heap_detail", courier.pk)


@require_POST
def heap_add_columns(request, pk: int):
    courier = get_object_or_404(Courier, pk=pk, kind=Courier.Kind.HEAP)
    try:
        done = heap_columns_add(courier=courier, reload=bool(request.POST.get("reload")))
    except FeedError as exc:
        messages.error(request, f"The new columns were not added: {exc}")
    else:
        for line in done or ["No new columns to add."]:
            messages.success(request, line)
    return redirect("couriers:heap_detail", courier.pk)
