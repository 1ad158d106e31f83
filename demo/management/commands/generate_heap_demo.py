"""Write a demo Heap Connect export to an S3 bucket (see the demo package for what it holds)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

import demo


class Command(BaseCommand):
    help = (
        "Write a realistic Heap Connect for S3 export (manifests + sync_<dump_id>/ snappy Avro "
        "parts, or the dated path/to/users-YYYY-MM-dd.avro layout) to a bucket."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bucket", required=True)
        parser.add_argument("--endpoint-url", default=None, help="S3 endpoint (default: AWS)")
        parser.add_argument("--access-key", default=None, help="default: AWS env/config chain")
        parser.add_argument("--secret-key", default=None)
        parser.add_argument("--region", default="us-east-1")
        parser.add_argument(
            "--rows", type=int, default=10_000,
            help="approximate total rows over all tables and dumps (or days)",
        )  # fmt: skip
        parser.add_argument("--dumps", type=int, default=4, help="dumps (sync) or days (dated)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--layout", choices=["sync", "dated"], default="sync")
        parser.add_argument("--prefix", default=None, help='default: "" (sync), "path/to/" (dated)')
        parser.add_argument("--first-dump-id", type=int, default=850)
        parser.add_argument(
            "--start-date", type=date.fromisoformat, default=date(2024, 3, 1),
            help="day of the first dump, YYYY-MM-DD",
        )  # fmt: skip
        parser.add_argument("--part-rows", type=int, default=100_000)
        parser.add_argument(
            "--no-new-property", action="store_true",
            help="do not add the new user property column in the last dump",
        )  # fmt: skip

    def handle(self, *args, **opts):
        if (opts["access_key"] is None) != (opts["secret_key"] is None):
            raise CommandError("give both --access-key and --secret-key, or neither")
        client = demo.make_s3_client(
            endpoint_url=opts["endpoint_url"], access_key=opts["access_key"],
            secret_key=opts["secret_key"], region=opts["region"],
        )  # fmt: skip
        try:
            demo.ensure_bucket(client, opts["bucket"])
            if opts["layout"] == "dated":
                days = [opts["start_date"] + timedelta(days=k) for k in range(opts["dumps"])]
                summary = demo.write_dated_export(
                    client, opts["bucket"], days, rows=opts["rows"], seed=opts["seed"],
                    prefix="path/to/" if opts["prefix"] is None else opts["prefix"],
                )  # fmt: skip
            else:
                spec = demo.HeapExportSpec(
                    rows=opts["rows"], dumps=opts["dumps"], seed=opts["seed"],
                    first_dump_id=opts["first_dump_id"], start_date=opts["start_date"],
                    part_rows=opts["part_rows"], new_property=not opts["no_new_property"],
                )  # fmt: skip
                summary = demo.write_heap_export(
                    client, opts["bucket"], spec, prefix=opts["prefix"] or ""
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        for dump in summary.dumps:
            label = f"dump {dump.dump_id}" if dump.dump_id is not None else "day"
            tables = ", ".join(
                f"{t.name}={t.rows}{'' if t.incremental else ' (full)'}"
                for t in dump.tables.values()
            )
            self.stdout.write(f"{label} {dump.day}: {tables}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {summary.total_rows} rows in {len(summary.files)} files "
                f"to s3://{opts['bucket']}/{summary.prefix}"
            )
        )
