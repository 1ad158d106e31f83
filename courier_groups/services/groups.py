"""Courier groups: create, update, copy, delete (the couriers themselves are kept)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from couriers.models import Courier

from ..models import CourierGroup, GroupConstraint, GroupMember
from ..schedule import CronError, get_zone, validate_cron


@dataclass(frozen=True)
class MemberSpec:
    """One courier of a group and its rules."""

    courier: Courier
    wait_minutes: int = 0
    offset_minutes: int = 0
    notify_when_missing: bool = True
    stop_when_missing: bool = False


def group_errors(
    *,
    group: CourierGroup | None,
    name: str,
    cron: str,
    timezone_name: str,
    members: list[MemberSpec],
    requires: list[CourierGroup],
) -> dict[str, str]:
    """Field name -> what is wrong, in words a user can act on (empty when all is well)."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the courier group a name."
    else:
        taken = CourierGroup.objects.filter(name__iexact=name)
        if group is not None and group.pk:
            taken = taken.exclude(pk=group.pk)
        if taken.exists():
            errors["name"] = f'A courier group named "{name}" already exists; choose another name.'
    problem = validate_cron(cron)
    if problem:
        errors["cron"] = f"Schedule: {problem}."
    try:
        get_zone(timezone_name)
    except CronError as exc:
        errors["timezone"] = f"Time zone: {exc}; pick one from the list."
    seen: set[int] = set()
    for spec in members:
        if spec.courier.pk in seen:
            errors["members"] = f'Courier "{spec.courier.name}" is listed twice; keep one row.'
        seen.add(spec.courier.pk)
    if group is not None and group.pk:
        for other in requires:
            if other.pk == group.pk:
                errors["requires"] = "A courier group cannot wait on itself."
            elif _depends_on(other, group):
                errors["requires"] = (
                    f'"{other.name}" already waits on "{group.name}": requiring it here would '
                    "make the two wait on each other forever."
                )
    return errors


def _depends_on(group: CourierGroup, target: CourierGroup) -> bool:
    """Does `group` (transitively) wait on `target`?"""
    edges: dict[int, list[int]] = {}
    for g, r in GroupConstraint.objects.values_list("group_id", "requires_id"):
        edges.setdefault(g, []).append(r)
    stack, seen = [group.pk], set()
    while stack:
        current = stack.pop()
        if current == target.pk:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, []))
    return False


def _save(
    group: CourierGroup,
    *,
    name: str,
    cron: str,
    timezone_name: str,
    use_timezone_for_dates: bool,
    active: bool,
    alert_after_minutes: int | None,
    members: list[MemberSpec],
    requires: list[CourierGroup],
) -> CourierGroup:
    errors = group_errors(
        group=group,
        name=name,
        cron=cron,
        timezone_name=timezone_name,
        members=members,
        requires=requires,
    )
    if errors:
        raise ValidationError(errors)
    cron = " ".join(cron.split())
    # Times before a (re)activation or a schedule change were never due: don't back-fill them.
    schedule_changed = (
        group.pk is None
        or (active and not group.active)
        or cron != group.cron
        or timezone_name != group.timezone
    )
    group.name = name.strip()
    group.cron = cron
    group.timezone = timezone_name
    group.use_timezone_for_dates = use_timezone_for_dates
    group.active = active
    group.alert_after_minutes = alert_after_minutes or None
    if schedule_changed:
        group.schedule_since = timezone.now()
    with transaction.atomic():
        group.save()
        group.members.all().delete()
        GroupMember.objects.bulk_create(
            GroupMember(
                group=group,
                courier=spec.courier,
                position=i,
                wait_minutes=spec.wait_minutes,
                offset_minutes=spec.offset_minutes,
                notify_when_missing=spec.notify_when_missing,
                stop_when_missing=spec.stop_when_missing,
            )
            for i, spec in enumerate(members)
        )
        group.constraints.all().delete()
        GroupConstraint.objects.bulk_create(
            GroupConstraint(group=group, requires=other)
            for other in {r.pk: r for r in requires}.values()
        )
    return group


def group_create(
    *,
    name: str,
    cron: str,
    timezone_name: str = "UTC",
    use_timezone_for_dates: bool = True,
    active: bool = True,
    alert_after_minutes: int | None = None,
    members: Sequence[MemberSpec] = (),
    requires: Sequence[CourierGroup] = (),
) -> CourierGroup:
    return _save(
        CourierGroup(),
        name=name,
        cron=cron,
        timezone_name=timezone_name,
        use_timezone_for_dates=use_timezone_for_dates,
        active=active,
        alert_after_minutes=alert_after_minutes,
        members=list(members),
        requires=list(requires),
    )


def group_update(
    *,
    group: CourierGroup,
    name: str,
    cron: str,
    timezone_name: str,
    use_timezone_for_dates: bool,
    active: bool,
    alert_after_minutes: int | None,
    members: list[MemberSpec],
    requires: list[CourierGroup],
) -> CourierGroup:
    """Replace the group's settings, couriers and constraints (history is kept)."""
    group.refresh_from_db()
    return _save(
        group,
        name=name,
        cron=cron,
        timezone_name=timezone_name,
        use_timezone_for_dates=use_timezone_for_dates,
        active=active,
        alert_after_minutes=alert_after_minutes,
        members=list(members),
        requires=list(requires),
    )


def group_members(group: CourierGroup) -> list[MemberSpec]:
    return [
        MemberSpec(
            courier=m.courier,
            wait_minutes=m.wait_minutes,
            offset_minutes=m.offset_minutes,
            notify_when_missing=m.notify_when_missing,
            stop_when_missing=m.stop_when_missing,
        )
        for m in group.members.select_related("courier")
    ]


def group_copy(*, group: CourierGroup) -> CourierGroup:
    """A copy named "Copy of …", inactive so that it does not run twice until switched on."""
    base = f"Copy of {group.name}"[:110]
    name, n = base, 2
    while CourierGroup.objects.filter(name__iexact=name).exists():
        name, n = f"{base} ({n})", n + 1
    return group_create(
        name=name,
        cron=group.cron,
        timezone_name=group.timezone,
        use_timezone_for_dates=group.use_timezone_for_dates,
        active=False,
        alert_after_minutes=group.alert_after_minutes,
        members=group_members(group),
        requires=[c.requires for c in group.constraints.select_related("requires")],
    )


def group_delete(*, group: CourierGroup) -> None:
    """Delete the group, its memberships, constraints and run history; couriers stay."""
    group.delete()
