from django import forms
from django.utils import timezone

from .models import CourierRun


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
    )


class RunDatesForm(forms.Form):
    """Which data to load: a specific day, a time period, or all available data.

    Shared by the Run Courier dialog and a courier group's Run.
    """

    mode = forms.ChoiceField(
        label="Load",
        choices=CourierRun.Mode.choices,
        widget=forms.RadioSelect,
        initial=CourierRun.Mode.DAY,
    )
    day = _date_field("Day")
    start_date = _date_field("Start (inclusive)")
    end_date = _date_field("End (exclusive)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        if mode == CourierRun.Mode.DAY and not data.get("day"):
            self.add_error("day", "Choose the day to load.")
        if mode == CourierRun.Mode.PERIOD:
            start, end = data.get("start_date"), data.get("end_date")
            if not start:
                self.add_error("start_date", "A time period needs a start date.")
            if not end:
                self.add_error("end_date", "A time period needs an end date (the day after).")
            if start and end and end <= start:
                self.add_error("end_date", "The end date is exclusive: pick a day after the start.")
        return data

    def run_dates(self) -> dict:
        """mode, start_date and end_date as courier_run_start / group_run_start take them."""
        data = self.cleaned_data
        mode = data["mode"]
        if mode == CourierRun.Mode.DAY:
            return {"mode": mode, "start_date": data["day"], "end_date": None}
        if mode == CourierRun.Mode.PERIOD:
            return {"mode": mode, "start_date": data["start_date"], "end_date": data["end_date"]}
        return {"mode": mode, "start_date": None, "end_date": None}


class RunCourierForm(RunDatesForm):
    """The Run Courier dialog."""

    ingest_only = forms.BooleanField(
        required=False, help_text="Land the files without running load operations."
    )
    skip_missing = forms.BooleanField(
        required=False, label="Skip missing files", help_text="A missing file is a warning."
    )
    reload = forms.BooleanField(
        required=False,
        label="Reload files already loaded",
        help_text="Load files again even if the same file (key and ETag) was loaded before.",
    )

    def run_arguments(self) -> dict:
        return {
            **self.run_dates(),
            "ingest_only": self.cleaned_data["ingest_only"],
            "skip_missing": self.cleaned_data["skip_missing"],
            "reload": self.cleaned_data["reload"],
        }
