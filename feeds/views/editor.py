"""The Feed Editor: the field grid, key, last-updated field, threshold; Save and Activate."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render

from feeds.forms import FeedSettingsForm, FieldFormSet
from feeds.models import Feed
from feeds.selectors import feed_get
from feeds.services import (
    FeedError,
    FeedInvalid,
    Problem,
    PurgeRequired,
    feed_activate,
    feed_problems,
    feed_update_fields,
    sample_preview,
)
from feeds.tags import ALL_TAGS

PREFIX = "fields"


def _initial(feed: Feed) -> tuple[list[dict], dict]:
    rows = [
        {
            **f.as_row(),
            "name": "" if f.name == f.incoming else f.name,  # blank: keep the incoming name
            "key": f.name in feed.primary_key,
        }
        for f in feed.fields.all()
    ]
    settings = {
        "last_updated_field": feed.last_updated_field,
        "stitch": feed.stitch,
        "error_threshold": feed.error_threshold,
        "load_sample_on_activation": feed.load_sample_on_activation,
    }
    return rows, settings


def _render(
    request, feed, formset, settings_form, problems: list[Problem], *, status=200, purge=""
):
    by_field: dict[str, list[str]] = defaultdict(list)
    general = []
    for p in problems:
        (by_field[p.field] if p.field else general).append(p.message)
    for form in formset.forms:
        incoming = (form["incoming"].value() or "").strip()
        form.problems = by_field.get(incoming, [])
    names = []
    for form in formset.forms:
        incoming = (form["incoming"].value() or "").strip()
        name = (form["name"].value() or "").strip() or incoming
        if name:
            names.append((name, form["type"].value()))
    preview, preview_error = None, ""
    if feed.sample and feed.file_settings:
        try:
            preview = sample_preview(feed.sample, feed.file_settings)
        except FeedError as exc:
            preview_error = str(exc)
    context = {
        "feed": feed,
        "formset": formset,
        "settings_form": settings_form,
        "problems": problems,
        "general_problems": general,
        "field_names": names,
        "tags": ALL_TAGS,
        "preview": preview,
        "preview_error": preview_error,
        "purge": purge,
    }
    return render(request, "feeds/edit.html", context, status=status)


def _parsed(formset) -> tuple[list[dict], list[str]]:
    fields, key = [], []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        fields.append(data)
        if data.get("key"):
            key.append((data.get("name") or "").strip() or data["incoming"].strip())
    return fields, key


def _with_blank_row(post):
    data = post.copy()
    total = int(data.get(f"{PREFIX}-TOTAL_FORMS", 0))
    data[f"{PREFIX}-TOTAL_FORMS"] = str(total + 1)
    data[f"{PREFIX}-{total}-type"] = "string"
    return data


def feed_edit(request, pk: str):
    feed = feed_get(pk)
    if request.method != "POST":
        rows, settings = _initial(feed)
        formset = FieldFormSet(initial=rows, prefix=PREFIX)
        problems = feed_problems(feed) if feed.status == Feed.Status.DRAFT else []
        return _render(request, feed, formset, FeedSettingsForm(initial=settings), problems)

    action = request.POST.get("action", "save")
    if action == "add":  # Add field: the same grid, one blank row more (nothing saved yet)
        formset = FieldFormSet(_with_blank_row(request.POST), prefix=PREFIX)
        formset.is_valid()
        return _render(request, feed, formset, FeedSettingsForm(request.POST), [])
    formset = FieldFormSet(request.POST, prefix=PREFIX)
    settings_form = FeedSettingsForm(request.POST)
    if not (formset.is_valid() and settings_form.is_valid()):
        return _render(request, feed, formset, settings_form, [], status=400)
    fields, key = _parsed(formset)
    s = settings_form.cleaned_data
    was_active = feed.status == Feed.Status.ACTIVE

    def save() -> None:
        feed_update_fields(
            feed=feed,
            fields=fields,
            primary_key=key,
            last_updated_field=s["last_updated_field"],
            stitch=s["stitch"],
            error_threshold=s["error_threshold"],
            load_sample_on_activation=s["load_sample_on_activation"],
        )

    activate = action in ("activate", "purge") or was_active
    try:
        with transaction.atomic():
            save()
            # An active feed's table follows its feed: Save applies the change too.
            activation = (
                feed_activate(feed=feed, confirm_purge=action == "purge") if activate else None
            )
    except (FeedInvalid, PurgeRequired, FeedError) as exc:
        feed.refresh_from_db()
        if not was_active:
            save()  # a draft keeps its edits even when it cannot be activated yet
        if isinstance(exc, PurgeRequired):
            return _render(request, feed, formset, settings_form, [], status=409, purge=str(exc))
        problems = exc.problems if isinstance(exc, FeedInvalid) else [Problem(str(exc))]
        return _render(request, feed, formset, settings_form, problems, status=400)
    if activation is None:
        messages.success(request, f"Saved {feed.table_name}.")
    else:
        _report(request, feed, activation, first=not was_active)
    return redirect("feeds:edit", pk=feed.pk)


def _report(request, feed, activation, *, first: bool) -> None:
    what = "activated" if first else "saved and applied to its table"
    text = f"{feed.table_name} {what}."
    if activation.purged:
        text += " The table was purged and recreated with the new primary key."
    elif activation.table_changes and not first:
        text += " Table changes: " + "; ".join(activation.table_changes) + "."
    messages.success(request, text)
    if activation.load is not None:
        r = activation.load
        messages.success(
            request,
            f"Sample file loaded: {r.rows_read} rows read, {r.inserted} inserted, "
            f"{r.updated} updated, {r.rejected} rejected.",
        )
    if activation.load_error:
        messages.error(request, f"The sample file was not loaded: {activation.load_error}")
