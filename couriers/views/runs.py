"""Run Courier dialog, run detail (live), Stop, error log, run history."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from amperity_sources.csv_safe import SafeWriter

from ..charts import run_history_chart
from ..forms_run import RunCourierForm
from ..models import Courier, CourierRun, RunLoad
from ..run_impact import run_impact
from ..services.dispatch import QUEUE_DOWN, run_dispatch_pending
from ..services.runs import CourierBusy, RunRequestError, courier_run_start, courier_run_stop


def run_courier(request, pk: int):
    courier = get_object_or_404(Courier, pk=pk)
    form = RunCourierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = courier_run_start(courier=courier, user=request.user, **form.run_arguments())
        except (CourierBusy, RunRequestError) as exc:
            form.add_error(None, str(exc))
        else:
            if run_dispatch_pending(run):  # the task queue was down: the dispatcher sends it
                messages.warning(request, QUEUE_DOWN)
            return redirect("couriers:run_detail", run.pk)
    status = 409 if form.non_field_errors() else (400 if form.errors else 200)
    return render(
        request, "couriers/run_form.html", {"courier": courier, "form": form}, status=status
    )


def run_impact_panel(request, pk: int):
    """The Run dialog's impact panel (htmx): what the chosen dates would land and load."""
    courier = get_object_or_404(Courier, pk=pk)
    form = RunCourierForm(request.GET)
    context = {"courier": courier, "form": form, "impact": None}
    if courier.kind == Courier.Kind.S3 and form.is_valid():
        context["impact"] = run_impact(courier=courier, run_arguments=form.run_arguments())
    return render(request, "couriers/_run_impact.html", context)


def run_detail(request, pk: int):
    run = get_object_or_404(CourierRun.objects.select_related("courier"), pk=pk)
    context = {
        "run": run,
        "events": run.events.all(),
        "loads": run.loads.select_related("feed__data_source"),
        "reject_count": run.rejects.count(),
    }
    template = "couriers/_run_live.html" if request.htmx else "couriers/run_detail.html"
    return render(request, template, context)


@require_POST
def run_stop(request, pk: int):
    run = get_object_or_404(CourierRun, pk=pk)
    if courier_run_stop(run=run):
        committing = run.loads.filter(status=RunLoad.Status.COMMITTING).select_related("feed")
        if committing:
            tables = ", ".join(load.feed.table_name for load in committing)
            messages.info(
                request,
                f"Too late to stop the load of {tables}: it is committing and keeps its new "
                "rows. The run stops once it is committed.",
            )
        else:
            messages.info(
                request,
                "Stopping: the load in progress is rolled back; tables the run already "
                "loaded keep their new rows.",
            )
    else:
        messages.warning(
            request, f"Run {run.pk} is {run.get_status_display().lower()}: nothing to stop."
        )
    return redirect("couriers:run_detail", run.pk)


def run_errors_csv(request, pk: int):
    """The run's rejected rows, streamed as CSV that is safe to open in a spreadsheet (a
    rejected value is whatever the file held, formulas included)."""
    run = get_object_or_404(CourierRun, pk=pk)
    writer = SafeWriter()

    def lines():
        yield writer.writerow(["feed", "file", "row", "field", "value", "reason"])
        for r in run.rejects.select_related("feed__data_source").iterator():
            yield writer.writerow([r.feed.table_name, r.file, r.row, r.field, r.value, r.reason])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-errors.csv"'
    return response


def run_history(request, pk: int):
    courier = get_object_or_404(Courier, pk=pk)
    runs = list(courier.runs.prefetch_related("loads")[:100])
    return render(
        request,
        "couriers/run_history.html",
        {"courier": courier, "runs": runs, "chart": run_history_chart(runs)},
    )
