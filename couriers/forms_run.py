from django import forms
from django.utils import timezone

from .models import CourierRun


class RunCourierForm(forms.Form):
    """The Run Courier dialog."""

    mode = forms.ChoiceField(
        choices=CourierRun.Mode.choices, widget=forms.RadioSelect, initial=CourierRun.Mode.DAY
    )
    day = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Day"
    )
    start_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Start (inclusive)"
    )
    end_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="End (exclusive)"
    )
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
                self.add_error("end_date", "A time period needs an end date.")
            if start and end and end <= start:
                self.add_error(
                    "end_date", "The end date is exclusive: it must come after the start."
                )
        return data

    def run_arguments(self) -> dict:
        data = self.cleaned_data
        mode = data["mode"]
        return {
            "mode": mode,
            "start_date": data["day"] if mode == CourierRun.Mode.DAY else data.get("start_date"),
            "end_date": data.get("end_date") if mode == CourierRun.Mode.PERIOD else None,
            "ingest_only": data["ingest_only"],
            "skip_missing": data["skip_missing"],
            "reload": data["reload"],
        }
