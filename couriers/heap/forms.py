"""The Heap connection form (credential, bucket, prefix) and the table choice."""

from __future__ import annotations

from typing import Any

from django import forms

from couriers.forms import s3_credentials
from credentials.models import Credential

from .setup import DATA_SOURCE


class HeapConnectForm(forms.Form):
    name = forms.CharField(max_length=120, initial="Heap", label="Courier name")
    credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(), empty_label="Choose a credential"
    )
    bucket = forms.CharField(
        max_length=63, help_text="The bucket Heap Connect writes to, e.g. heap-rs3-acme."
    )
    prefix = forms.CharField(
        max_length=500,
        required=False,
        help_text="The folder that holds manifests/ and sync_…/ (blank: the bucket's root).",
    )
    data_source = forms.CharField(
        max_length=60,
        initial=DATA_SOURCE,
        help_text="The feeds' tables are named after it, e.g. Heap:Users.",
    )
    tables = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, table_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credential"].queryset = s3_credentials()
        self.fields["tables"].choices = [(t, t) for t in table_names or []]

    def clean_bucket(self) -> str:
        return self.cleaned_data["bucket"].strip()

    def clean_prefix(self) -> str:
        return self.cleaned_data["prefix"].strip().lstrip("/")
