"""Reads for the credentials pages."""

from django.db.models import Count, QuerySet

from .models import Credential


def credential_list() -> QuerySet[Credential]:
    """Every credential with `courier_count`: couriers that use it for S3 or for PGP."""
    return (
        Credential.objects.select_related("base_credential")
        .annotate(
            s3_users=Count("couriers", distinct=True),
            pgp_users=Count("pgp_couriers", distinct=True),
        )
        .order_by("name")
    )
