"""Run a courier from the shell, printing the same status lines the run page shows.

manage.py run_courier Heap --day 2024-03-01
manage.py run_courier Heap --start 2024-03-01 --end 2024-03-04 --skip-missing
manage.py run_courier Heap --all --ingest-only
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from couriers.models import Courier, CourierRun, RunEvent
from couriers.pipeline import courier_run_execute
from couriers.services.runs import CourierBusy, RunRequestError, courier_run_start


class Command(BaseCommand):
    help = "Run a courier for a day, a period or all data, in this process."

    def add_arguments(self, parser):
        parser.add_argument("courier", help="courier name")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--day", type=date.fromisoformat)
        when.add_argument("--start", type=date.fromisoformat, help="with --end (exclusive)")
        when.add_argument("--all", action="store_true", help="all available data")
        parser.add_argument("--end", type=date.fromisoformat)
        parser.add_argument("--ingest-only", action="store_true")
        parser.add_argument("--skip-missing", action="store_true")
        parser.add_argument("--reload", action="store_true")

    def handle(self, *args, **opts):
        try:
            courier = Courier.objects.get(name=opts["courier"])
        except Courier.DoesNotExist:
            names = ", ".join(Courier.objects.values_list("name", flat=True)) or "none"
            raise CommandError(
                f'No courier named "{opts["courier"]}" (couriers: {names})'
            ) from None
        if opts["day"]:
            mode, start, end = CourierRun.Mode.DAY, opts["day"], None
        elif opts["start"]:
            mode, start, end = CourierRun.Mode.PERIOD, opts["start"], opts["end"]
        else:
            mode, start, end = CourierRun.Mode.ALL, None, None
        try:
            run = courier_run_start(
                courier=courier, mode=mode, start_date=start, end_date=end,
                ingest_only=opts["ingest_only"], skip_missing=opts["skip_missing"],
                reload=opts["reload"], started_by="shell", queue=False,
            )  # fmt: skip
        except (CourierBusy, RunRequestError) as exc:
            raise CommandError(str(exc)) from None
        courier_run_execute(run.pk)
        run.refresh_from_db()
        for event in RunEvent.objects.filter(run=run):
            style = {"error": self.style.ERROR, "warning": self.style.WARNING}.get(event.level, str)
            self.stdout.write(style(f"{event.at:%H:%M:%S} {event.message}"))
        for load in run.loads.select_related("feed__data_source"):
            self.stdout.write(
                f"{load.feed.table_name}: read {load.rows_read}, inserted {load.inserted}, "
                f"updated {load.updated}, rejected {load.rejected}"
            )
        if run.status != CourierRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} {run.get_status_display().lower()}")
