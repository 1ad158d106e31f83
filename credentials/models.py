from django.db import models


class Credential(models.Model):
    """How to reach a storage system. Secrets live only in `secrets_encrypted`."""

    class Kind(models.TextChoices):
        IAM = "iam-credential", "IAM credential (access key)"
        ROLE = "iam-role-to-role", "IAM role to role (assume role)"
        PGP = "pgp", "PGP (decrypt files)"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Non-secret settings.
    role_arn = models.CharField("target role ARN", max_length=300, blank=True)
    base_credential = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region = models.CharField(max_length=40, blank=True)
    endpoint_url = models.CharField("S3 endpoint URL", max_length=300, blank=True)
    # The tail of the access key id, so a user can tell credentials apart.
    key_hint = models.CharField(max_length=8, blank=True)
    # Fernet token of a JSON object: access_key_id, secret_access_key, external_id,
    # private_key, passphrase. Never rendered, never logged.
    secrets_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
