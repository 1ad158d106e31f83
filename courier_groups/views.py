"""Thin views: parse the form, call one service, render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .forms import ConstraintFormSet, GroupForm, MemberFormSet, RunForm
from .models import CourierGroup, GroupRun
from .schedule import CronError, describe_cron, get_zone, next_times, validate_cron
from .selectors import group_next_times, group_run_history, group_run_parts, group_timeline
from .services.groups import (
    MemberSpec,
    group_copy,
    group_create,
    group_delete,
    group_update,
)
from .services.runs import group_run_start


def _forms(request, group: CourierGroup | None):
    exclude = {"exclude_pk": group.pk} if group else {}
    if request.method == "POST":
        return (
            GroupForm(request.POST),
            MemberFormSet(request.POST, prefix="members"),
            ConstraintFormSet(request.POST, prefix="constraints", form_kwargs=exclude),
        )
    if group is None:
        return (
            GroupForm(),
            MemberFormSet(prefix="members", initial=[{}]),
            ConstraintFormSet(prefix="constraints", form_kwargs=exclude),
        )
    members = [
        {
            "courier": m.courier,
            "wait_hours": m.wait_minutes // 60,
            "wait_minutes": m.wait_minutes % 60,
            "offset_hours": m.offset_minutes // 60,
            "notify_when_missing": m.notify_when_missing,
            "stop_when_missing": m.stop_when_missing,
        }
        for m in group.members.select_related("courier")
    ]
    constraints = [{"requires": c.requires} for c in group.constraints.select_related("requires")]
    return (
        GroupForm(initial=GroupForm.initial_for(group)),
        MemberFormSet(prefix="members", initial=members),
        ConstraintFormSet(prefix="constraints", initial=constraints, form_kwargs=exclude),
    )


def _rows(formset, key):
    return [
        f.cleaned_data
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get(key)
    ]


def _group_form(request, group: CourierGroup | None):
    form, members, constraints = _forms(request, group)
    if request.method == "POST" and all(x.is_valid() for x in (form, members, constraints)):
        data = form.cleaned_data
        kwargs = dict(
            name=data["name"],
            cron=data["cron"],
            timezone_name=data["timezone"],
            use_timezone_for_dates=data["use_timezone_for_dates"],
            active=data["active"],
            alert_after_minutes=form.alert_after_minutes,
            members=[
                MemberSpec(
                    courier=row["courier"],
                    wait_minutes=(row.get("wait_hours") or 0) * 60 + (row.get("wait_minutes") or 0),
                    offset_minutes=(row.get("offset_hours") or 0) * 60,
                    notify_when_missing=row.get("notify_when_missing", False),
                    stop_when_missing=row.get("stop_when_missing", False),
                )
                for row in _rows(members, "courier")
            ],
            requires=[row["requires"] for row in _rows(constraints, "requires")],
        )
        try:
            if group is None:
                group = group_create(**kwargs)
            else:
                group = group_update(group=group, **kwargs)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                target = {"members": None, "requires": None}.get(field, field)
                if field in form.fields:
                    form.add_error(target, problems)
                else:
                    form.add_error(None, problems)
        else:
            messages.success(request, f'Courier group "{group.name}" saved.')
            return redirect("courier_groups:detail", pk=group.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "courier_groups/form.html",
        {"form": form, "members": members, "constraints": constraints, "group": group},
        status=status,
    )


def group_add(request):
    return _group_form(request, None)


def group_edit(request, pk: int):
    return _group_form(request, get_object_or_404(CourierGroup, pk=pk))


@require_GET
def cron_preview(request):
    """The plain-words reading and next five times, as the user types (an htmx partial)."""
    cron = request.GET.get("cron", "")
    zone_name = request.GET.get("timezone") or "UTC"
    context = {"cron": cron, "zone": zone_name}
    problem = validate_cron(cron) if cron.strip() else "type a schedule, e.g. 30 8 * * *"
    try:
        get_zone(zone_name)
    except CronError as exc:
        problem = problem or str(exc)
    if problem:
        context["problem"] = problem
    else:
        context["reading"] = describe_cron(cron)
        context["times"] = next_times(cron, zone_name, timezone.now(), 5)
    return render(request, "courier_groups/_cron_preview.html", context)


def group_detail(request, pk: int):
    group = get_object_or_404(
        CourierGroup.objects.prefetch_related("members__courier", "constraints__requires"), pk=pk
    )
    runs = group_run_history(group)
    return render(
        request,
        "courier_groups/detail.html",
        {
            "group": group,
            "reading": describe_cron(group.cron),
            "next_times": group_next_times(group),
            "runs": runs,
            "timeline": group_timeline(runs[:30], group.timezone),
        },
    )


def group_run(request, pk: int):
    group = get_object_or_404(CourierGroup, pk=pk)
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        run = group_run_start(
            group=group,
            trigger="manual",
            **form.run_dates(),
            started_by=request.user.get_username(),
        )
        messages.success(request, f'Courier group "{group.name}" is running.')
        return redirect("courier_groups:run_detail", pk=run.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "courier_groups/run.html", {"group": group, "form": form}, status=status)


def group_copy_view(request, pk: int):
    group = get_object_or_404(CourierGroup, pk=pk)
    if request.method == "POST":
        copy = group_copy(group=group)
        messages.success(
            request, f'Copied to "{copy.name}" (inactive until you switch it on). Edit it here.'
        )
        return redirect("courier_groups:edit", pk=copy.pk)
    return render(request, "courier_groups/copy.html", {"group": group})


def group_delete_view(request, pk: int):
    group = get_object_or_404(CourierGroup, pk=pk)
    if request.method == "POST":
        name = group.name
        group_delete(group=group)
        messages.success(request, f'Courier group "{name}" deleted. Its couriers are kept.')
        return redirect("sources")
    return render(
        request,
        "courier_groups/delete.html",
        {"group": group, "couriers": [m.courier for m in group.members.select_related("courier")]},
    )


def run_detail(request, pk: int):
    run = get_object_or_404(GroupRun.objects.select_related("group"), pk=pk)
    context = {
        "run": run,
        "group": run.group,
        "parts": group_run_parts(run),
        "zone": get_zone(run.group.timezone),
        "now": timezone.now(),
    }
    if request.htmx:
        return render(request, "courier_groups/_run_status.html", context)
    return render(request, "courier_groups/run_detail.html", context)
