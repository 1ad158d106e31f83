"""Load the demo: a login, a credential for the S3 endpoint, a Heap Connect export in a
bucket, and couriers and feeds over it — built the way the seeds' workflow builds them.

Idempotent: objects that exist are kept; the bucket's objects are written again (the
embedded S3 endpoint keeps them in memory only).
"""

import os
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from couriers.models import Courier, CourierRun, LandedFile
from couriers.pipeline import courier_run_execute
from couriers.services.runs import courier_run_start
from credentials.models import Credential
from credentials.services import credential_set_secrets, s3_client
from demo import HeapExportSpec, ensure_bucket, write_dated_export, write_heap_export
from demo.heap_setup import heap_demo_setup
from feeds.models import Feed
from feeds.services import feed_activate, feed_create

BUCKET = "heap-rs3-demo"
DATED_COURIER = "Heap files (dated)"
USERS_PATTERN = "'path/to/users-'yyyy'-'MM'-'dd'.avro'"


class Command(BaseCommand):
    help = "Create the demo login, credential, bucket data, couriers and feeds."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-sources")
        parser.add_argument("--rows", type=int, default=20_000)

    def handle(self, *args, **opts):
        endpoint = settings.SOURCES_DEMO_S3_ENDPOINT
        if not endpoint:
            raise CommandError("S3_ENDPOINT_URL is not set: no S3 endpoint for the demo bucket.")
        self._user(opts["username"], opts["password"])
        credential = self._credential(endpoint)
        client = s3_client(credential)
        ensure_bucket(client, BUCKET)
        today = timezone.localdate()
        days = [today - timedelta(days=n) for n in (2, 1, 0)]
        write_dated_export(client, BUCKET, days, rows=opts["rows"] // 4, tables=("users",))
        write_heap_export(client, BUCKET, HeapExportSpec(rows=opts["rows"]))
        self.stdout.write(f"Demo bucket s3://{BUCKET} written at {endpoint}")
        self._dated_courier(credential, days[0])
        self._heap_courier(credential)

    def _user(self, username, password):
        user_model = get_user_model()
        if not user_model.objects.filter(username=username).exists():
            user_model.objects.create_superuser(username, password=password)

    def _credential(self, endpoint) -> Credential:
        credential, created = Credential.objects.get_or_create(
            name="Demo S3",
            defaults={"kind": Credential.Kind.IAM, "endpoint_url": endpoint, "region": "us-east-1"},
        )
        if created or credential.endpoint_url != endpoint:
            credential.endpoint_url = endpoint
            credential_set_secrets(
                credential,
                {
                    "access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
                    "secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "demo-secret"),
                },
            )
            credential.save()
        return credential

    def _dated_courier(self, credential, first_day):
        """The seeds' legacy workflow: land a sample, describe the feed, set load operations."""
        if Courier.objects.filter(name=DATED_COURIER).exists():
            return
        entity = {
            "object/type": "file",
            "object/file-pattern": USERS_PATTERN,
            "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
        }
        courier = Courier.objects.create(
            name=DATED_COURIER, credential=credential, bucket=BUCKET, entities=[entity]
        )
        run = courier_run_start(
            courier=courier, start_date=first_day, ingest_only=True, started_by="demo set-up",
            queue=False,
        )  # fmt: skip
        courier_run_execute(run.pk)
        run.refresh_from_db()
        if run.status != CourierRun.Status.SUCCEEDED:
            raise CommandError(f"Demo sample run failed: {run.error}")
        sample = LandedFile.objects.filter(courier=courier).latest("landed_at")
        with transaction.atomic():
            feed = feed_create(
                data_source_name="Heap files",
                name="Users",
                sample={"kind": "landed", "id": sample.pk, "name": sample.key.rsplit("/", 1)[-1]},
                file_settings=sample.file_settings,
                load_sample_on_activation=False,
            )
            feed.primary_key = ["user_id"]
            feed.last_updated_field = "last_modified"
            feed.save()
            feed.fields.filter(name="user_id").update(required=True, semantic_tag="pk")
        feed_activate(feed=Feed.objects.get(pk=feed.pk))
        courier.load_operations = {feed.pk: [{"type": "load", "file": "users"}]}
        courier.save()
        self.stdout.write(f"Courier {courier.name} → {feed.table_name} ({feed.pk})")

    def _heap_courier(self, credential):
        courier = heap_demo_setup(credential=credential, bucket=BUCKET)
        self.stdout.write(f"Courier {courier.name} (Heap Connect dumps)")
