"""Review file: inferred settings on the left, Table and Raw views of the first rows."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from couriers.config import validate_entities
from couriers.forms import AddFileForm, SettingsForm
from couriers.review import FileReview, review_file
from couriers.s3 import KeyOutOfScope, key_in_scope
from couriers.services.couriers import (
    courier_add_entity,
    courier_entity_replaced,
    literal_pattern,
)
from credentials.services import s3_client

from .drafts import Target, draft_save, resolve_target

SETTING_FIELDS = tuple(SettingsForm.base_fields)


def _requested_settings(data, member: str) -> tuple[dict | None, SettingsForm | None]:
    """The settings the user chose, or None to infer them (also when the member changed)."""
    if "content_type" not in data or data.get("settings_for", "") != member:
        return None, None
    form = SettingsForm(data)
    if not form.is_valid():
        return None, form
    return {k: form.cleaned_data[k] for k in SETTING_FIELDS}, None


def _review(request, target: Target, data) -> tuple[FileReview, SettingsForm | None]:
    key = data.get("key", "")
    member = data.get("member", "")
    settings, bad_form = _requested_settings(data, member)
    try:
        key_in_scope(target, key)  # the courier's (or the draft's) bucket and prefix only
    except KeyOutOfScope as exc:
        return FileReview(key=key, error=str(exc.problem), status=403), bad_form
    if target.credential is None:
        review = FileReview(key=key, error="Choose a credential first.", status=400)
    else:
        review = review_file(
            client=s3_client(target.credential),
            bucket=target.bucket,
            key=key,
            settings=settings,
            member=member,
            pgp=target.pgp_credential,
        )
    return review, bad_form


def _typed_columns(file_review: FileReview) -> list[list[str]]:
    """(name, feed type) per column, as the preview inferred them (what Add Feed suggests)."""
    return [[f.name, f.type] for f in file_review.fields]


def _panel_context(target: Target, review: FileReview, form: SettingsForm | None) -> dict:
    if form is None and review.settings is not None:
        form = SettingsForm(initial=SettingsForm.initial_from(review.settings.to_dict()))
    return {
        "target": target,
        "review": review,
        "settings_form": form,
        "preview_url": target.url("review_preview"),
    }


def review(request, pk: int | None = None, draft: str | None = None):
    target = resolve_target(request, pk=pk, draft=draft)
    data = request.POST if request.method == "POST" else request.GET
    if not data.get("key"):
        return HttpResponseBadRequest("Choose a file to review (the key is missing).")
    file_review, bad_settings = _review(request, target, data)
    default_tag = (file_review.member or file_review.key).rsplit("/", 1)[-1].split(".")[0]
    add_form = AddFileForm(
        initial={
            "tag": "".join(c if c.isalnum() or c in "-_" else "_" for c in default_tag).lower(),
            "pattern": data.get("pattern") or literal_pattern(file_review.key),
        }
    )
    if request.method == "POST" and target.draft is not None:
        add_form = AddFileForm(request.POST)
        if add_form.is_valid() and bad_settings is None and file_review.preview is not None:
            draft = target.draft
            tag = add_form.cleaned_data["tag"]
            replaced = courier_entity_replaced(
                entities=draft.get("entities", []),
                tag=tag,
                pattern=add_form.cleaned_data["pattern"],
            )
            entities = courier_add_entity(
                entities=draft.get("entities", []),
                pattern=add_form.cleaned_data["pattern"],
                tag=tag,
                land_as=file_review.settings.to_land_as(),
                member=file_review.member,
            )
            problems = [p for p in validate_entities(entities) if p]
            if not problems:
                draft["entities"] = entities
                draft.setdefault("columns", {})[tag] = {
                    "key": file_review.key,
                    "member": file_review.member,
                    "columns": _typed_columns(file_review),
                    "settings": file_review.settings.to_dict(),
                }
                draft_save(request, target.draft_id, draft)
                if replaced:
                    messages.warning(request, replaced)
                url = reverse("couriers:wizard_feed", args=[target.draft_id])
                return redirect(f"{url}?{urlencode({'tag': tag})}")
            for problem in problems:
                add_form.add_error("pattern", problem)
        elif file_review.preview is None:
            add_form.add_error(None, "The file cannot be read with these settings yet.")
    context = _panel_context(target, file_review, bad_settings)
    context.update(
        add_form=add_form,
        review_url=target.url("review"),
        wizard_url=(
            reverse("couriers:wizard", args=[target.draft_id]) if target.draft_id else None
        ),
        pattern=data.get("pattern", ""),
    )
    if file_review.error:
        status = file_review.status
    else:
        status = 400 if add_form.is_bound and add_form.errors else 200
    return render(request, "couriers/review.html", context, status=status)


def review_preview(request, pk: int | None = None, draft: str | None = None):
    """The settings column and preview, refreshed in place when a setting changes."""
    target = resolve_target(request, pk=pk, draft=draft)
    if not request.GET.get("key"):
        return HttpResponseBadRequest("Choose a file to review (the key is missing).")
    file_review, bad_settings = _review(request, target, request.GET)
    # htmx swaps only a 2xx into the page, so a file's problem comes back as a 200 panel there;
    # a key outside the courier's prefix is never asked for by the page and is always a 403.
    status = file_review.status if file_review.error else 200
    if request.htmx and status != 403:
        status = 200
    return render(
        request,
        "couriers/_review_panel.html",
        _panel_context(target, file_review, bad_settings),
        status=status,
    )
