"""Forms of the feeds pages: they parse input; services decide."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from feeds.explorer import OPERATORS
from feeds.models import DataSource, FeedField
from feeds.samples import sample_files

NEW = ""


def landed_choices() -> list[tuple[str, str]]:
    """Landed files, newest first, labelled with their date and id."""
    out = []
    for ref in sample_files("landed"):
        label = ref.get("label") or ref.get("key") or ref.get("name") or ref["id"]
        date = ref.get("date")
        out.append(
            (
                str(ref["id"]),
                f"{label} — {date} (#{ref['id']})" if date else f"{label} (#{ref['id']})",
            )
        )
    return out


class AddFeedForm(forms.Form):
    SAMPLE_CHOICES = [
        ("upload", "Upload a file"),
        ("landed", "Choose a landed file"),
        ("none", "No sample file"),
    ]
    data_source = forms.ChoiceField(label="Data source", required=False)
    new_data_source = forms.CharField(label="New data source name", max_length=100, required=False)
    name = forms.CharField(label="Feed name", max_length=100)
    sample = forms.ChoiceField(
        label="Sample file", choices=SAMPLE_CHOICES, widget=forms.RadioSelect, initial="upload"
    )
    sample_file = forms.FileField(label="File to upload", required=False)
    landed_file = forms.ChoiceField(label="Landed file", required=False)
    load_sample_on_activation = forms.BooleanField(
        label="Load sample file on feed activation", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_source"].choices = [(NEW, "Create a new data source")] + [
            (s.name, s.name) for s in DataSource.objects.all()
        ]
        self.fields["landed_file"].choices = [("", "— choose a landed file —")] + landed_choices()

    def clean(self):
        data = super().clean()
        source = data.get("data_source") or data.get("new_data_source", "").strip()
        if not source:
            self.add_error(
                "new_data_source", "Name the new data source, or select an existing one."
            )
        data["data_source_name"] = source
        kind = data.get("sample")
        if kind == "upload" and not data.get("sample_file"):
            self.add_error("sample_file", "Choose a file to upload, or pick another sample option.")
        if kind == "landed" and not data.get("landed_file"):
            self.add_error("landed_file", "Choose a landed file, or pick another sample option.")
        return data


TYPE_CHOICES = FeedField.Type.choices


class FieldRowForm(forms.Form):
    incoming = forms.CharField(label="Incoming field", max_length=200)
    name = forms.CharField(label="Rename to", max_length=200, required=False)
    type = forms.ChoiceField(label="Type", choices=TYPE_CHOICES)
    precision = forms.IntegerField(label="Precision", required=False, min_value=1, max_value=76)
    scale = forms.IntegerField(label="Scale", required=False, min_value=0, max_value=76)
    semantic_tag = forms.CharField(label="Semantic tag", max_length=100, required=False)
    required = forms.BooleanField(label="Required", required=False)
    key = forms.BooleanField(label="Primary key", required=False)

    def clean_semantic_tag(self):
        return self.cleaned_data["semantic_tag"].strip()


FieldFormSet = formset_factory(FieldRowForm, extra=0, can_delete=True)


class FeedSettingsForm(forms.Form):
    last_updated_field = forms.CharField(label="Last updated field", required=False)
    stitch = forms.BooleanField(label="Make available to Stitch", required=False)
    error_threshold = forms.FloatField(
        label="Error threshold (%)",
        min_value=0,
        max_value=100,
        error_messages={
            "min_value": "The error threshold must be between 0 and 100 %.",
            "max_value": "The error threshold must be between 0 and 100 %.",
        },
    )
    load_sample_on_activation = forms.BooleanField(
        label="Load sample file on feed activation", required=False
    )


class CopyFeedForm(forms.Form):
    name = forms.CharField(label="Name of the copy", max_length=100)


class LoadDataForm(forms.Form):
    SOURCE_CHOICES = [("upload", "Upload a file"), ("landed", "Choose a landed file")]
    LOAD_TYPES = [("upsert", "Upsert"), ("truncate", "Truncate and upsert")]
    source = forms.ChoiceField(
        label="File", choices=SOURCE_CHOICES, widget=forms.RadioSelect, initial="upload"
    )
    file = forms.FileField(label="File to upload", required=False)
    landed_file = forms.ChoiceField(label="Landed file", required=False)
    load_type = forms.ChoiceField(
        label="Load type", choices=LOAD_TYPES, widget=forms.RadioSelect, initial="upsert"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["landed_file"].choices = [("", "— choose a landed file —")] + landed_choices()

    def clean(self):
        data = super().clean()
        if data.get("source") == "upload" and not data.get("file"):
            self.add_error("file", "Choose a file to upload.")
        if data.get("source") == "landed" and not data.get("landed_file"):
            self.add_error("landed_file", "Choose a landed file.")
        return data


class ExplorerFilterForm(forms.Form):
    """GET parameters of a table page (no CSRF: it only reads)."""

    column = forms.ChoiceField(required=False)
    op = forms.ChoiceField(choices=list(OPERATORS.items()), required=False)
    value = forms.CharField(required=False, max_length=500)
    sort = forms.ChoiceField(required=False)
    desc = forms.BooleanField(required=False)
    after = forms.CharField(required=False, max_length=4000)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["column"].choices = [("", "— column —")] + [(c, c) for c in columns]
        self.fields["sort"].choices = [("", "")] + [(c, c) for c in columns]
