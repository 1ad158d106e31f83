"""Feed row actions: Make a copy, Load new data, Truncate, Delete (the last two confirm first)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from feeds.forms import CopyFeedForm, LoadDataForm
from feeds.models import Feed
from feeds.samples import SampleError, find_sample, open_sample
from feeds.selectors import domain_table_rows, feed_get
from feeds.services import FeedError, feed_copy, feed_delete, feed_load_file, feed_truncate


def feed_copy_view(request, pk: str):
    feed = feed_get(pk)
    form = CopyFeedForm(request.POST or None, initial={"name": f"{feed.name} copy"})
    if request.method == "POST" and form.is_valid():
        try:
            copy = feed_copy(feed=feed, name=form.cleaned_data["name"])
        except FeedError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Copied {feed.table_name} to {copy.table_name} (a draft).")
            return redirect("feeds:edit", pk=copy.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "feeds/copy.html", {"feed": feed, "form": form}, status=status)


def feed_load(request, pk: str):
    feed = feed_get(pk)
    if feed.status != Feed.Status.ACTIVE:
        messages.error(request, f"Activate {feed.table_name} before loading data into it.")
        return redirect("feeds:edit", pk=feed.pk)
    form = LoadDataForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        truncate = data["load_type"] == "truncate"
        try:
            if data["source"] == "upload":
                upload = data["file"]
                result = feed_load_file(
                    feed=feed, stream=upload, name=upload.name, truncate=truncate
                )
                name = upload.name
            else:
                ref = find_sample("landed", data["landed_file"])
                if ref is None:
                    raise FeedError("That landed file no longer exists.")
                stream, name = open_sample(ref)
                with stream:
                    result = feed_load_file(feed=feed, stream=stream, name=name, truncate=truncate)
        except (FeedError, SampleError) as exc:
            field = "file" if data["source"] == "upload" else "landed_file"
            form.add_error(field, str(exc))
        else:
            messages.success(
                request,
                f"Loaded {name} into {feed.table_name}: {result.rows_read} rows read, "
                f"{result.inserted} inserted, {result.updated} updated, "
                f"{result.rejected} rejected.",
            )
            return redirect("feeds:table", pk=feed.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "feeds/load.html", {"feed": feed, "form": form}, status=status)


def _confirm(request, feed: Feed, *, action: str, title: str, text: str, button: str):
    context = {
        "feed": feed,
        "action": action,
        "title": title,
        "text": text,
        "button": button,
        "rows": domain_table_rows(feed),
    }
    return render(request, "feeds/confirm.html", context)


def feed_truncate_view(request, pk: str):
    feed = feed_get(pk)
    if request.method == "POST":
        feed_truncate(feed=feed)
        messages.success(request, f"Truncated {feed.table_name}: every row was deleted.")
        return redirect("sources")
    return _confirm(
        request,
        feed,
        action="truncate",
        title=f"Truncate {feed.table_name}?",
        text="Every row of the domain table is deleted. The feed and its fields stay.",
        button="Truncate table",
    )


def feed_delete_view(request, pk: str):
    feed = feed_get(pk)
    if request.method == "POST":
        name = feed.table_name
        feed_delete(feed=feed)
        messages.success(request, f"Deleted the feed {name} and dropped its table.")
        return redirect("sources")
    return _confirm(
        request,
        feed,
        action="delete",
        title=f"Delete {feed.table_name}?",
        text=(
            f"The feed {feed.pk} is deleted and its domain table is dropped with all its rows. "
            "Couriers whose load operations name this feed will fail until they are changed."
        ),
        button="Delete feed and table",
    )
