"""The two courier editors over one stored configuration: legacy (JSON) and new (wizard)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from couriers.config import entity_tags
from couriers.forms import FeedStepForm, LegacyCourierForm, SourceForm
from couriers.landing import land_reviewed_file
from couriers.models import Courier
from couriers.s3 import S3Error
from couriers.services.couriers import (
    LoadChange,
    OperationGone,
    courier_create,
    courier_problems,
    courier_remove_load,
    courier_set_load,
    courier_update,
)
from credentials.models import Credential
from credentials.services import credential_test, s3_client
from feeds.models import Feed
from feeds.services import feed_compare

from .drafts import draft_from_courier, draft_get, draft_new, draft_save, entity_rows

SOURCE_FIELDS = ("name", "credential", "bucket", "prefix", "pgp_credential")


# ---------------------------------------------------------------- Add courier
def add(request):
    """Add Source tiles; ``?editor=legacy`` the JSON editor; ``?source=s3`` the wizard."""
    if request.GET.get("editor") == "legacy":
        return _legacy(request, None)
    source = request.GET.get("source")
    if source == "s3":
        return redirect("couriers:wizard", draft_new(request, draft_from_courier(None)))
    if source == "heap":
        return redirect("couriers:heap_add")
    return render(request, "couriers/add.html")


def edit(request, pk: int):
    return _legacy(request, get_object_or_404(Courier, pk=pk))


def _legacy(request, courier: Courier | None):
    draft_id = request.GET.get("draft")
    if draft_id:
        initial = LegacyCourierForm.initial_from(draft_get(request, draft_id))
    elif courier is not None:
        initial = LegacyCourierForm.initial_from(draft_from_courier(courier))
    else:
        initial = {"load_operations": "{}"}
    if request.method != "POST":
        form = LegacyCourierForm(initial=initial, instance=courier)
        return _render_legacy(request, form, courier)

    to_wizard = "to_wizard" in request.POST
    form = LegacyCourierForm(request.POST, instance=courier, parse_only=to_wizard)
    if not form.is_valid():
        return _render_legacy(request, form, courier, status=400)
    data = form.cleaned_data
    if to_wizard:
        values = draft_from_courier(courier)
        values.update(_source_values(data))
        values.update(entities=data["entities"], load_operations=data["load_operations"])
        values["connected"] = False
        return redirect("couriers:wizard", draft_new(request, values))
    fields = {f: data[f] for f in (*SOURCE_FIELDS, "entities", "load_operations")}
    try:
        if courier is None:
            courier = courier_create(**fields)
            messages.success(request, f"Courier “{courier}” created.")
        else:
            courier = courier_update(courier=courier, **fields)
            messages.success(request, f"Courier “{courier}” saved.")
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return _render_legacy(request, form, courier, status=400)
    return redirect("couriers:detail", courier.pk)


def _render_legacy(request, form, courier, status=200):
    return render(
        request,
        "couriers/legacy_form.html",
        {
            "form": form,
            "courier": courier,
            "new_credential_url": reverse("credentials:add")
            + "?"
            + urlencode({"next": request.get_full_path()}),
        },
        status=status,
    )


def _source_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name", ""),
        "credential_id": data["credential"].pk if data.get("credential") else None,
        "bucket": data.get("bucket", ""),
        "prefix": data.get("prefix", ""),
        "pgp_credential_id": data["pgp_credential"].pk if data.get("pgp_credential") else None,
    }


# ---------------------------------------------------------------- the new editor
def wizard_edit(request, pk: int):
    """Open a saved courier in the new editor."""
    courier = get_object_or_404(Courier, pk=pk)
    return redirect("couriers:wizard", draft_new(request, draft_from_courier(courier)))


def _credential(pk: int | None) -> Credential | None:
    return Credential.objects.filter(pk=pk).first() if pk else None


def _save_draft(draft: dict[str, Any]) -> Courier:
    fields = {
        "name": draft.get("name", ""),
        "credential": _credential(draft.get("credential_id")),
        "bucket": draft.get("bucket", ""),
        "prefix": draft.get("prefix", ""),
        "pgp_credential": _credential(draft.get("pgp_credential_id")),
        "entities": draft.get("entities", []),
        "load_operations": draft.get("load_operations", {}),
    }
    if draft.get("courier_id"):
        courier = get_object_or_404(Courier, pk=draft["courier_id"])
        return courier_update(courier=courier, **fields)
    return courier_create(**fields)


@require_http_methods(["GET", "POST"])
def wizard(request, draft: str):
    """Credential → Continue (connection test) → select a file (browse or pattern) → Save."""
    values = draft_get(request, draft)
    courier = Courier.objects.filter(pk=values.get("courier_id")).first()
    initial = LegacyCourierForm.initial_from(values)
    form = SourceForm(initial=initial)
    save_errors: list[str] = []
    status = 200
    action = request.POST.get("action")
    if action == "continue":
        form = SourceForm(request.POST)
        if form.is_valid():
            values.update(_source_values(form.cleaned_data))
            problems = courier_problems(
                name=values["name"],
                credential=form.cleaned_data["credential"],
                bucket=values["bucket"],
                prefix=values["prefix"],
                entities=[],
                load_operations={},
                pgp_credential=form.cleaned_data["pgp_credential"],
                instance=courier,
            )
            for field in SOURCE_FIELDS:
                for message in problems.get(field, []):
                    form.add_error(field, message)
        if form.is_valid():
            result = credential_test(
                credential=form.cleaned_data["credential"],
                bucket=values["bucket"],
                prefix=values["prefix"],
            )
            values["connected"] = result.ok
            values["connection"] = {
                "ok": result.ok,
                "message": result.message,
                "suggestion": result.suggestion,
            }
            draft_save(request, draft, values)
            if not result.ok:
                status = 400
        else:
            status = 400
    elif action == "save":
        try:
            saved = _save_draft(values)
        except ValidationError as exc:
            save_errors = [m for ms in exc.message_dict.values() for m in ms]
            status = 400
        else:
            messages.success(request, f"Courier “{saved}” saved.")
            return redirect("couriers:detail", saved.pk)
    elif action == "remove":
        tag = request.POST.get("tag", "")
        values["entities"] = [e for e in values.get("entities", []) if tag not in entity_tags([e])]
        draft_save(request, draft, values)
        return redirect("couriers:wizard", draft)
    legacy_url = (
        (reverse("couriers:edit", args=[courier.pk]) if courier else reverse("couriers:add"))
        + "?"
        + urlencode({"editor": "legacy", "draft": draft} if not courier else {"draft": draft})
    )
    return render(
        request,
        "couriers/wizard.html",
        {
            "draft_id": draft,
            "draft": values,
            "courier": courier,
            "form": form,
            "save_errors": save_errors,
            "entity_rows": entity_rows(values.get("entities", [])),
            "load_operations_json": json.dumps(values.get("load_operations", {})),
            "legacy_url": legacy_url,
            "new_credential_url": reverse("credentials:add")
            + "?"
            + urlencode({"next": request.path}),
        },
        status=status,
    )


def _feed_choices() -> list[tuple[str, str]]:
    feeds = Feed.objects.select_related("data_source").order_by("data_source__name", "name")
    return [(f.pk, f"{f.table_name} ({f.pk})") for f in feeds]


@require_http_methods(["GET", "POST"])
def wizard_feed(request, draft: str):
    """Feed step: Create new feed, or Use existing feed; load type Upsert / Truncate and upsert."""
    values = draft_get(request, draft)
    tag = request.GET.get("tag") or request.POST.get("tag", "")
    reviewed = values.get("columns", {}).get(tag)
    if not reviewed:
        messages.error(request, "Review a file first: its tag was not found.")
        return redirect("couriers:wizard", draft)
    form = FeedStepForm(request.POST or None, feeds=_feed_choices())
    errors: list[str] = []
    notes: list[str] = []
    if request.method == "POST" and form.is_valid():
        truncate = form.cleaned_data["load_type"] == "truncate"
        if form.cleaned_data["feed_choice"] == "existing":
            change = _load_change(values, form.cleaned_data["feed"], tag, truncate)
            values["load_operations"], notes = change.load_operations, change.notes
        try:
            courier = _save_draft(values)
        except ValidationError as exc:
            errors = [m for ms in exc.message_dict.values() for m in ms]
        else:
            values["courier_id"] = courier.pk
            draft_save(request, draft, values)
            if form.cleaned_data["feed_choice"] == "existing":
                messages.success(request, " ".join([f"Courier “{courier}” saved.", *notes]))
                return redirect("couriers:detail", courier.pk)
            attach = (
                reverse("couriers:attach_feed", args=[courier.pk])
                + "?"
                + urlencode({"tag": tag, "load_type": form.cleaned_data["load_type"]})
            )
            try:
                landed = land_reviewed_file(
                    courier=courier,
                    client=s3_client(courier.credential),
                    key=reviewed["key"],
                    tag=tag,
                    settings=reviewed.get("settings", {}),
                    member=reviewed.get("member", ""),
                )
            except S3Error as exc:  # gone since the review, or outside a changed prefix
                errors = [
                    f"Courier “{courier}” saved, but the reviewed file cannot be the new "
                    f"feed's sample: {exc.problem}"
                ]
            else:
                query = {"courier": courier.pk, "key": landed.key, "tag": tag, "next": attach}
                if landed.member:  # the member travels apart from the key (it may hold "#")
                    query["member"] = landed.member
                messages.success(request, f"Courier “{courier}” saved. Now describe the new feed.")
                return redirect(reverse("feeds:add") + "?" + urlencode(query))
    return render(
        request,
        "couriers/wizard_feed.html",
        {
            "draft_id": draft,
            "draft": values,
            "tag": tag,
            "reviewed": reviewed,
            "form": form,
            "errors": errors,
            "preview": _load_preview(values, tag, form.data or form.initial),
        },
        status=400 if request.method == "POST" else 200,
    )


def _load_change(values: dict[str, Any], feed_id: str, tag: str, truncate: bool) -> LoadChange:
    feed = Feed.objects.select_related("data_source").filter(pk=feed_id).first()
    return courier_set_load(
        load_operations=values.get("load_operations", {}),
        feed_id=feed_id,
        tag=tag,
        truncate=truncate,
        feed_name=feed.table_name if feed else "",
    )


def _load_preview(values: dict[str, Any], tag: str, choice: Any) -> dict[str, Any]:
    """The load operations the feed step's current choice would save, and what changes."""
    current = values.get("load_operations", {})
    feed_id = choice.get("feed", "")
    if choice.get("feed_choice", "new") == "existing" and feed_id:
        change = _load_change(values, feed_id, tag, choice.get("load_type") == "truncate")
    else:
        change = LoadChange(
            current, [f"After you describe the new feed, a load of “{tag}” is added for it."]
        )
    return {
        "notes": change.notes,
        "json": json.dumps(change.load_operations, indent=2, ensure_ascii=False),
    }


def wizard_load_preview(request, draft: str):
    """The feed step's load-operations preview, refreshed as the choice changes (htmx)."""
    values = draft_get(request, draft)
    tag = request.GET.get("tag", "")
    return render(
        request, "couriers/_load_preview.html", {"preview": _load_preview(values, tag, request.GET)}
    )


def wizard_compare(request, draft: str):
    """The reviewed file's columns beside an existing feed's fields (htmx partial)."""
    values = draft_get(request, draft)
    reviewed = values.get("columns", {}).get(request.GET.get("tag", ""))
    feed = Feed.objects.filter(pk=request.GET.get("feed", "")).first()
    if not reviewed or feed is None:
        return render(request, "couriers/_compare.html", {"diff": None})
    columns = [(name, type_) for name, type_ in reviewed["columns"]]
    return render(
        request, "couriers/_compare.html", {"diff": feed_compare(feed=feed, columns=columns)}
    )


@require_http_methods(["GET", "POST"])
def attach_feed(request, pk: int):
    """After Add Feed: load the new feed from the reviewed file (writes the load operations)."""
    courier = get_object_or_404(Courier, pk=pk)
    data = request.POST if request.method == "POST" else request.GET
    feed = Feed.objects.filter(pk=data.get("feed", "")).select_related("data_source").first()
    tag = data.get("tag", "")
    truncate = data.get("load_type") == "truncate"
    if feed is None or not tag:
        return render(
            request,
            "couriers/attach_feed.html",
            {"courier": courier, "error": "Choose the feed and the file tag to load."},
            status=400,
        )
    change = courier_set_load(
        load_operations=courier.load_operations,
        feed_id=feed.pk,
        tag=tag,
        truncate=truncate,
        feed_name=feed.table_name,
    )
    preview = {
        "notes": change.notes,
        "json": json.dumps(change.load_operations, indent=2, ensure_ascii=False),
    }
    if request.method == "GET" and request.htmx:
        return render(request, "couriers/_load_preview.html", {"preview": preview})
    if request.method == "POST":
        try:
            courier_update(
                courier=courier,
                name=courier.name,
                credential=courier.credential,
                bucket=courier.bucket,
                prefix=courier.prefix,
                entities=courier.entities,
                load_operations=change.load_operations,
                pgp_credential=courier.pgp_credential,
            )
        except ValidationError as exc:
            return render(
                request,
                "couriers/attach_feed.html",
                {"courier": courier, "feed": feed, "tag": tag, "error": " ".join(exc.messages)},
                status=400,
            )
        messages.success(
            request,
            " ".join([f"“{courier}” now loads {feed.table_name} from “{tag}”.", *change.notes]),
        )
        return redirect("feeds:edit", feed.pk)
    return render(
        request,
        "couriers/attach_feed.html",
        {"courier": courier, "feed": feed, "tag": tag, "truncate": truncate, "preview": preview},
    )


@require_http_methods(["POST"])
def remove_load(request, pk: int):
    """Remove one load operation: the courier page's confirmed "remove" button."""
    courier = get_object_or_404(Courier, pk=pk)
    feed_id = request.POST.get("feed", "")
    try:
        op = json.loads(request.POST.get("op", ""))
    except ValueError:
        op = None
    if not isinstance(op, dict):
        return HttpResponseBadRequest("Choose the load operation to remove.")
    feed = Feed.objects.select_related("data_source").filter(pk=feed_id).first()
    try:
        message = courier_remove_load(
            courier=courier, feed_id=feed_id, op=op, feed_name=feed.table_name if feed else ""
        )
    except OperationGone as gone:
        return HttpResponse(" ".join(gone.messages), status=409, content_type="text/plain")
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    messages.success(request, message)
    return redirect("couriers:detail", courier.pk)
