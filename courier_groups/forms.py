"""Create/Edit Courier Group, its couriers and constraints, and the Run dialog."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms

from couriers.forms_run import RunDatesForm
from couriers.models import Courier

from .models import CourierGroup

COMMON_ZONES = [
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
]


def timezone_choices():
    others = sorted(available_timezones() - set(COMMON_ZONES) - {"localtime"})
    return [
        ("Common", [(z, z) for z in COMMON_ZONES]),
        ("All time zones", [(z, z) for z in others]),
    ]


class GroupForm(forms.Form):
    name = forms.CharField(max_length=120)
    cron = forms.CharField(
        label="Schedule",
        max_length=100,
        help_text="Cron, 5 fields: minute hour day-of-month month day-of-week. "
        "“30 8 * * *” runs at 08:30 every day.",
        widget=forms.TextInput(attrs={"class": "font-monospace", "autocomplete": "off"}),
    )
    timezone = forms.ChoiceField(label="Time zone", initial="UTC")
    use_timezone_for_dates = forms.BooleanField(
        label="Use this time zone for file date ranges", required=False, initial=True
    )
    active = forms.TypedChoiceField(
        label="Status",
        choices=[("true", "Active"), ("false", "Inactive")],
        coerce=lambda v: v == "true",
        initial="true",
        widget=forms.RadioSelect,
    )
    alert_hours = forms.IntegerField(
        label="Alert when runtime exceeds: hours", min_value=0, max_value=240, required=False
    )
    alert_minutes = forms.IntegerField(label="minutes", min_value=0, max_value=59, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()

    @classmethod
    def initial_for(cls, group: CourierGroup) -> dict:
        hours, minutes = divmod(group.alert_after_minutes or 0, 60)
        return {
            "name": group.name,
            "cron": group.cron,
            "timezone": group.timezone,
            "use_timezone_for_dates": group.use_timezone_for_dates,
            "active": "true" if group.active else "false",
            "alert_hours": hours or None,
            "alert_minutes": minutes or None,
        }

    @property
    def alert_after_minutes(self) -> int | None:
        hours = self.cleaned_data.get("alert_hours") or 0
        minutes = self.cleaned_data.get("alert_minutes") or 0
        return hours * 60 + minutes or None


class MemberForm(forms.Form):
    courier = forms.ModelChoiceField(queryset=Courier.objects.all(), required=False)
    wait_hours = forms.IntegerField(min_value=0, max_value=72, required=False, initial=0)
    wait_minutes = forms.IntegerField(min_value=0, max_value=59, required=False, initial=0)
    offset_hours = forms.IntegerField(min_value=0, max_value=24 * 31, required=False, initial=0)
    notify_when_missing = forms.BooleanField(required=False, initial=True)
    stop_when_missing = forms.BooleanField(required=False)


class ConstraintForm(forms.Form):
    requires = forms.ModelChoiceField(
        label="Courier group", queryset=CourierGroup.objects.all(), required=False
    )

    def __init__(self, *args, exclude_pk=None, **kwargs):
        super().__init__(*args, **kwargs)
        if exclude_pk:
            self.fields["requires"].queryset = CourierGroup.objects.exclude(pk=exclude_pk)


MemberFormSet = forms.formset_factory(MemberForm, extra=0, can_delete=True)
ConstraintFormSet = forms.formset_factory(ConstraintForm, extra=0, can_delete=True)


class RunForm(RunDatesForm):
    """Run a group now: a specific day, a time period, or all data."""
