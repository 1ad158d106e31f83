"""Add Feed: data source, name, sample file -> a draft feed in the Feed Editor."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from feeds.forms import AddFeedForm
from feeds.samples import find_sample, sample_files, upload_sample
from feeds.services import FeedError, feed_create
from feeds.services.sample import UnreadableFile


def _preselected(request) -> dict:
    """?courier=<id>&key=<s3 key>[&member=<archive member>]: the landed file to preselect."""
    courier, key = request.GET.get("courier"), request.GET.get("key")
    member = request.GET.get("member", "")
    if not courier or not key:
        return {}
    for ref in sample_files("landed"):
        if (str(ref.get("courier")), ref.get("key"), ref.get("member", "")) == (
            courier,
            key,
            member,
        ):
            return {"sample": "landed", "landed_file": str(ref["id"])}
    where = f"{key} (member {member})" if member else key
    messages.warning(request, f"The landed file {where} was not found; choose a sample file below.")
    return {}


def _after_create(request, feed) -> str:
    """Back to the courier wizard when it sent us (?next=), else to the Feed Editor."""
    next_url = request.GET.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return f"{next_url}{'&' if '?' in next_url else '?'}feed={feed.pk}"
    return reverse("feeds:edit", args=[feed.pk])


def feed_add(request):
    status = 400
    if request.method == "POST":
        form = AddFeedForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            sample: dict = {}
            if data["sample"] == "upload":
                upload = data["sample_file"]
                sample = upload_sample(stream=upload, name=upload.name)
            elif data["sample"] == "landed":
                sample = find_sample("landed", data["landed_file"]) or {}
                if not sample:
                    form.add_error("landed_file", "That landed file no longer exists.")
            if not form.errors:
                try:
                    feed = feed_create(
                        data_source_name=data["data_source_name"],
                        name=data["name"],
                        sample=sample,
                        file_settings={},
                        load_sample_on_activation=data["load_sample_on_activation"],
                    )
                except FeedError as exc:
                    # Shown next to the file; a reader's unforeseen failure is a 422.
                    field = "sample_file" if data["sample"] == "upload" else "landed_file"
                    form.add_error(field if sample else "name", str(exc))
                    if isinstance(exc, UnreadableFile):
                        status = 422
                else:
                    messages.success(request, f"Feed {feed.table_name} created ({feed.pk}).")
                    return redirect(_after_create(request, feed))
        return render(request, "feeds/add.html", {"form": form}, status=status)
    initial = {"load_sample_on_activation": True, **_preselected(request)}
    return render(request, "feeds/add.html", {"form": AddFeedForm(initial=initial)})
