"""Forms of the courier editors and the review page. Validation lives in the services."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from credentials.models import Credential
from feeds.readers import COMPRESSIONS, CONTENT_TYPES, ENCODINGS

from .config import parse_json
from .services.couriers import S3_KINDS, courier_problems

ENTITIES_PLACEHOLDER = """[{"object/type": "file",
  "object/file-pattern": "'path/to/users'-YYYY-MM-dd'.avro'",
  "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"}}]"""
LOAD_OPERATIONS_PLACEHOLDER = (
    """{"df-xxxxxx": [{"type": "truncate"}, {"type": "load", "file": "users"}]}"""
)


def s3_credentials():
    return Credential.objects.filter(kind__in=S3_KINDS)


def pgp_credentials():
    return Credential.objects.filter(kind=Credential.Kind.PGP)


class SourceForm(forms.Form):
    """Where the courier pulls from: shared by both editors."""

    name = forms.CharField(max_length=120)
    credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(), empty_label="Choose a credential"
    )
    bucket = forms.CharField(max_length=63, help_text="The S3 bucket, e.g. heap-rs3-acme.")
    prefix = forms.CharField(
        max_length=500, required=False, help_text="Only look under this path, e.g. sync/."
    )
    pgp_credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(),
        required=False,
        label="PGP credential",
        empty_label="None (files are not encrypted)",
        help_text="Decrypts .pgp files.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credential"].queryset = s3_credentials()
        self.fields["pgp_credential"].queryset = pgp_credentials()

    def clean_bucket(self) -> str:
        return self.cleaned_data["bucket"].strip()

    def clean_prefix(self) -> str:
        return self.cleaned_data["prefix"].strip()


class LegacyCourierForm(SourceForm):
    """Name, credential, bucket, prefix, and the entities list and load operations as JSON."""

    entities = forms.CharField(
        label="Entities list",
        widget=forms.Textarea(
            attrs={"rows": 12, "class": "font-monospace", "placeholder": ENTITIES_PLACEHOLDER}
        ),
        help_text="A JSON array: one entry per file (or archive) to pull.",
    )
    load_operations = forms.CharField(
        label="Load operations",
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "class": "font-monospace",
                "placeholder": LOAD_OPERATIONS_PLACEHOLDER,
            }
        ),
        help_text="A JSON object {feed-id: [operation, ...]}; {} only lands files.",
    )

    field_order = [
        "name",
        "credential",
        "bucket",
        "prefix",
        "entities",
        "load_operations",
        "pgp_credential",
    ]

    def __init__(self, *args: Any, instance: Any = None, parse_only: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.parse_only = parse_only  # switching editors: keep what parses, check nothing else

    @staticmethod
    def initial_from(values: dict[str, Any]) -> dict[str, Any]:
        """Form initial data from stored (or draft) values: JSON shown pretty-printed."""
        return {
            "name": values.get("name", ""),
            "credential": values.get("credential_id"),
            "bucket": values.get("bucket", ""),
            "prefix": values.get("prefix", ""),
            "pgp_credential": values.get("pgp_credential_id"),
            "entities": json.dumps(values.get("entities", []), indent=2, ensure_ascii=False),
            "load_operations": json.dumps(
                values.get("load_operations", {}), indent=2, ensure_ascii=False
            ),
        }

    def clean_entities(self) -> Any:
        value, errors = parse_json(self.cleaned_data["entities"], "entities list")
        if errors:
            raise forms.ValidationError(errors)
        return value

    def clean_load_operations(self) -> Any:
        value, errors = parse_json(self.cleaned_data["load_operations"], "load operations")
        if errors:
            raise forms.ValidationError(errors)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.parse_only or self.errors:
            return data
        problems = courier_problems(
            name=data.get("name", ""),
            credential=data.get("credential"),
            bucket=data.get("bucket", ""),
            prefix=data.get("prefix", ""),
            entities=data.get("entities"),
            load_operations=data.get("load_operations"),
            pgp_credential=data.get("pgp_credential"),
            instance=self.instance,
        )
        for field_name, messages in problems.items():
            for message in messages:
                self.add_error(field_name, message)
        return data


class SettingsForm(forms.Form):
    """The review page's settings column; every change refreshes the preview."""

    content_type = forms.ChoiceField(choices=list(CONTENT_TYPES.items()))
    compression = forms.ChoiceField(choices=list(COMPRESSIONS.items()))
    delimiter = forms.CharField(
        max_length=2, required=False, help_text='One character; \\t or "tab" for a tab.'
    )
    quote = forms.CharField(
        label="Quote character", max_length=1, required=False, strip=False, help_text="Empty: none."
    )
    escape = forms.CharField(
        label="Escape character", max_length=1, required=False, help_text="Empty: none."
    )
    header_rows = forms.IntegerField(label="Header rows", min_value=0, max_value=100)
    encoding = forms.ChoiceField(choices=list(ENCODINGS.items()))

    def clean_delimiter(self) -> str:
        value = self.cleaned_data["delimiter"]
        if value in ("\\t", "tab", "\t"):
            return "\t"
        if len(value) != 1:
            raise forms.ValidationError("The delimiter is one character, e.g. , ; | or \\t.")
        return value

    @staticmethod
    def initial_from(settings: dict[str, Any]) -> dict[str, Any]:
        initial = dict(settings)
        if initial.get("delimiter") == "\t":
            initial["delimiter"] = "\\t"
        initial["escape"] = initial.get("escape") or ""
        return initial


class AddFileForm(forms.Form):
    """Review file → an entity: its tag and the pattern it is found by."""

    tag = forms.SlugField(
        label="File tag",
        max_length=200,
        help_text="The name load operations use for this file, e.g. users.",
    )
    pattern = forms.CharField(label="File pattern", max_length=1000)


class FeedStepForm(forms.Form):
    FEED_CHOICES = [("new", "Create new feed"), ("existing", "Use existing feed")]
    LOAD_CHOICES = [("upsert", "Upsert"), ("truncate", "Truncate and upsert")]

    feed_choice = forms.ChoiceField(
        label="Feed", choices=FEED_CHOICES, widget=forms.RadioSelect, initial="new"
    )
    feed = forms.ChoiceField(label="Existing feed", required=False)
    load_type = forms.ChoiceField(
        label="Load type", choices=LOAD_CHOICES, widget=forms.RadioSelect, initial="upsert"
    )

    def __init__(self, *args: Any, feeds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["feed"].choices = [("", "Choose a feed"), *feeds]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("feed_choice") == "existing" and not data.get("feed"):
            self.add_error("feed", "Choose the feed this file loads into.")
        return data


class PatternTestForm(forms.Form):
    pattern = forms.CharField(max_length=1000)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
