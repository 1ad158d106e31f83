"""The credential form. Secret fields are write-only: never pre-filled, blank keeps the stored one."""

from __future__ import annotations

from django import forms

from .models import Credential
from .validation import KIND_FIELDS, SECRET_FIELDS

KEEP = "Leave blank to keep the stored value."


class CredentialForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(label="Type", choices=Credential.Kind.choices)
    access_key_id = forms.CharField(
        label="Access key ID",
        required=False,
        max_length=128,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    secret_access_key = forms.CharField(
        label="Secret access key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    role_arn = forms.CharField(
        label="Target role ARN",
        required=False,
        max_length=300,
        help_text="e.g. arn:aws:iam::123456789012:role/heap-export-reader",
    )
    external_id = forms.CharField(
        label="External ID",
        required=False,
        max_length=1224,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="2–1224 characters: letters, digits and + = , . @ : / -",
    )
    base_credential = forms.ModelChoiceField(
        label="Base credential",
        required=False,
        queryset=Credential.objects.none(),
        empty_label="Default AWS credentials of this server",
        help_text="The IAM credential that assumes the role.",
    )
    private_key = forms.CharField(
        label="PGP private key",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "font-monospace",
            }
        ),
        help_text="ASCII-armored: -----BEGIN PGP PRIVATE KEY BLOCK----- …",
    )
    passphrase = forms.CharField(
        label="Passphrase",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    region = forms.CharField(required=False, max_length=40, help_text="e.g. us-east-1 (optional)")
    endpoint_url = forms.CharField(
        label="S3 endpoint URL",
        required=False,
        max_length=300,
        help_text="For S3-compatible stores (MinIO, Ceph, …). Leave blank for Amazon S3.",
    )

    def __init__(
        self, *args, credential: Credential | None = None, stored: dict | None = None, **kw
    ):
        self.credential = credential
        if credential is not None:
            kw.setdefault(
                "initial",
                {
                    "name": credential.name,
                    "kind": credential.kind,
                    "role_arn": credential.role_arn,
                    "base_credential": credential.base_credential_id,
                    "region": credential.region,
                    "endpoint_url": credential.endpoint_url,
                },
            )
        super().__init__(*args, **kw)
        bases = Credential.objects.exclude(kind=Credential.Kind.PGP)
        if credential is not None:
            bases = bases.exclude(pk=credential.pk)
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "The type of a saved credential cannot change."
            for field in SECRET_FIELDS:
                if (stored or {}).get(field):
                    hint = self.fields[field].help_text
                    self.fields[field].help_text = f"{hint} {KEEP}".strip()
            if credential.key_hint:
                self.fields[
                    "access_key_id"
                ].help_text = f"Stored key ends in …{credential.key_hint}. {KEEP}"
        self.fields["base_credential"].queryset = bases

    def kind_groups(self) -> list[tuple[forms.BoundField, str]]:
        """Each field with the types it belongs to (space-separated) for the show/hide script."""
        groups = []
        for name in self.fields:
            if name in ("name", "kind"):
                groups.append((self[name], "all"))
            else:
                kinds = " ".join(k.value for k, fields in KIND_FIELDS.items() if name in fields)
                groups.append((self[name], kinds))
        return groups

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("kind", None)
        data.pop("name", None)
        return data


class ConnectionTestForm(forms.Form):
    bucket = forms.CharField(required=False, max_length=255)
    prefix = forms.CharField(required=False, max_length=1024, strip=False)
