"""The file browser and the pattern tester (htmx partials, for a draft or a saved courier)."""

from __future__ import annotations

from itertools import islice

from django.shortcuts import render

from couriers.forms import PatternTestForm
from couriers.patterns import FilePattern, PatternError
from couriers.s3 import KeyOutOfScope, S3Error, key_in_scope, list_folder, list_matching
from credentials.services import s3_client

from .drafts import resolve_target

PAGE_SIZE = 200
MAX_MATCHES = 50
MAX_PATTERN_PAGES = 20  # the tester scans at most 20,000 keys


def _crumbs(root: str, prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) from the courier's prefix down to ``prefix``."""
    crumbs = [(root or "(bucket root)", root)]
    rest = prefix[len(root) :]
    current = root
    for part in [p for p in rest.split("/") if p]:
        current += part + "/"
        crumbs.append((part, current))
    return crumbs


def browse(request, pk: int | None = None, draft: str | None = None):
    """One page of one folder: sub-folders, then files with size and modification time."""
    target = resolve_target(request, pk=pk, draft=draft)
    prefix = request.GET.get("prefix") or target.prefix  # none given: the courier's own
    context = {
        "target": target,
        "prefix": prefix,
        "crumbs": _crumbs(target.prefix, prefix),
        "browse_url": target.url("browse"),
        "review_url": target.url("review"),
        "page": None,
        "error": "",
    }
    try:
        key_in_scope(target, prefix, what="prefix")  # from the courier's prefix down only
    except KeyOutOfScope as exc:
        context.update(error=str(exc.problem), prefix=target.prefix, crumbs=[])
        return render(request, "couriers/_browser.html", context, status=403)
    if target.credential is None:
        context["error"] = "Choose a credential first."
    else:
        try:
            context["page"] = list_folder(
                s3_client(target.credential),
                target.bucket,
                prefix,
                token=request.GET.get("token") or None,
                page_size=PAGE_SIZE,
            )
        except S3Error as exc:
            context["error"] = str(exc.problem)
        else:
            context["folders"] = [(f, f[len(prefix) :]) for f in context["page"].folders]
    status = 400 if context["error"] and not request.htmx else 200
    return render(request, "couriers/_browser.html", context, status=status)


def pattern_test(request, pk: int | None = None, draft: str | None = None):
    """Which objects a file pattern finds for a day (or for any day)."""
    target = resolve_target(request, pk=pk, draft=draft)
    form = PatternTestForm(request.GET or None)
    context = {
        "target": target,
        "form": form,
        "review_url": target.url("review"),
        "matches": None,
        "error": "",
    }
    if form.is_valid():
        day = form.cleaned_data["day"]
        try:
            pattern = FilePattern.parse(form.cleaned_data["pattern"])
        except PatternError as exc:
            context["error"] = f"File pattern: {exc}."
        else:
            context["pattern"] = pattern
            context["looks_for"] = pattern.resolve(day)
            try:
                found = list_matching(
                    s3_client(target.credential),
                    target.bucket,
                    pattern,
                    day,
                    target.prefix,
                    max_pages=MAX_PATTERN_PAGES,
                )
                matches = list(islice(found, MAX_MATCHES + 1))
            except S3Error as exc:
                context["error"] = str(exc.problem)
            else:
                context["more"] = len(matches) > MAX_MATCHES
                context["matches"] = [(m, pattern.file_date(m.key)) for m in matches[:MAX_MATCHES]]
    elif request.GET:
        context["error"] = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    status = 400 if context["error"] and not request.htmx else 200
    return render(request, "couriers/_pattern_results.html", context, status=status)
