"""What a user sees of runs without a browser: reloads, the error log download, the run
history chart, e-mailed notifications and the `run_courier` command. Runs execute in this
process (as the command does), against the real Postgres and S3 endpoint."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from couriers.models import Courier, CourierRun
from demo import expected_tables, write_dated_export
from tests.factories import (
    USERS_FIELDS,
    domain_rows,
    make_credential,
    make_feed,
    run_here,
    users_courier,
)

pytestmark = pytest.mark.django_db(transaction=True)
DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]


def users_feed():
    return make_feed(
        "Heap",
        f"Users {uuid.uuid4().hex[:6]}",
        USERS_FIELDS,
        ["user_id"],
        last_updated="last_modified",
    )


def courier_for(bucket, endpoint, feed, *, pattern, land_as, name="") -> Courier:
    return Courier.objects.create(
        name=name or f"Heap {uuid.uuid4().hex[:6]}",
        credential=make_credential(endpoint),
        bucket=bucket,
        entities=[
            {"object/type": "file", "object/file-pattern": pattern, "object/land-as": land_as}
        ],
        load_operations={feed.pk: [{"type": "load", "file": land_as["file/tag"]}]} if feed else {},
    )


@pytest.fixture
def three_days(s3, bucket):
    summary = write_dated_export(s3, bucket, DAYS, rows=900, seed=9, tables=("users",))
    return bucket, summary


def test_reload_files_already_loaded_loads_them_again(three_days, s3_endpoint):
    bucket, summary = three_days
    feed = users_feed()
    courier = users_courier(bucket, s3_endpoint, feed)
    first = run_here(courier, start_date=DAYS[0])
    assert first.status == CourierRun.Status.SUCCEEDED, first.error
    table = domain_rows(feed)

    again = run_here(courier, start_date=DAYS[0])
    assert again.loads.get().status == "skipped"  # same key and ETag: not loaded again

    reload = run_here(courier, start_date=DAYS[0], reload=True)
    load = reload.loads.get()
    assert load.status == "succeeded"
    assert load.files == ["path/to/users-2024-03-01.avro"]
    assert load.rows_read == first.loads.get().rows_read and load.inserted == 0
    assert "reload files already loaded" in reload.events.first().message
    assert [r["email"] for r in domain_rows(feed)] == [r["email"] for r in table]


def test_rejected_rows_are_in_the_downloadable_error_log(s3, bucket, s3_endpoint, analyst_client):
    s3.put_object(
        Bucket=bucket,
        Key="people/people-2024-03-01.csv",
        Body=b"id,name,age\n1,Ann,30\n2,Bob,thirty\n3,Cyd,41\n",
    )
    feed = make_feed(
        "CRM",
        f"People {uuid.uuid4().hex[:6]}",
        [("id", "integer"), ("name", "string"), ("age", "integer")],
        ["id"],
        error_threshold=50,
    )
    courier = courier_for(
        bucket,
        s3_endpoint,
        feed,
        pattern="'people/people-'yyyy'-'MM'-'dd'.csv'",
        land_as={"file/tag": "people", "file/content-type": "text/csv", "file/header-rows": 1},
    )
    run = run_here(courier, start_date=DAYS[0])
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert f"{feed.table_name}: 1 row rejected (see the run's error log)" in run.error
    assert [r["id"] for r in domain_rows(feed)] == [1, 3]

    page = analyst_client.get(reverse("couriers:run_detail", args=[run.pk])).content.decode()
    assert "Download error log (1 rejected value, CSV)" in page
    response = analyst_client.get(reverse("couriers:run_errors", args=[run.pk]))
    assert response["Content-Type"] == "text/csv"
    assert f'filename="run-{run.pk}-errors.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["file"] == "people/people-2024-03-01.csv"
    assert (rows[0]["row"], rows[0]["field"], rows[0]["value"]) == ("2", "age", "thirty")
    assert rows[0]["reason"] and rows[0]["feed"] == feed.table_name


def test_run_history_chart_has_a_bar_per_finished_run(three_days, s3_endpoint, analyst_client):
    bucket, _ = three_days
    courier = users_courier(bucket, s3_endpoint, users_feed())
    runs = [run_here(courier, start_date=day) for day in DAYS]
    assert all(r.status == CourierRun.Status.SUCCEEDED for r in runs)

    page = analyst_client.get(reverse("couriers:run_history", args=[courier.pk]))
    html = page.content.decode()
    chart = html[html.index('<figure class="chart') : html.index("</figure>")]
    assert "<svg" in chart and chart.count("<rect") == 3
    assert "<polyline" in chart
    for run in runs:
        assert f"Run {run.pk} " in chart  # each bar's tooltip names its run


def test_completed_and_failed_runs_send_an_email_naming_the_courier(
    three_days, s3_endpoint, settings, mailoutbox
):
    settings.SOURCES_NOTIFY_EMAILS = ["ops@example.com"]
    bucket, _ = three_days
    courier = users_courier(bucket, s3_endpoint, users_feed(), name="Heap nightly")

    run_here(courier, start_date=DAYS[0])
    assert len(mailoutbox) == 1  # "Queued" is not mailed; "Completed" is
    mail = mailoutbox[0]
    assert mail.to == ["ops@example.com"]
    assert "Heap nightly" in mail.subject and "completed" in mail.subject.lower()
    assert mail.body.startswith("Completed in ")

    failed = run_here(courier, start_date=date(2024, 4, 1))
    assert failed.status == CourierRun.Status.FAILED
    assert len(mailoutbox) == 2
    assert "Heap nightly" in mailoutbox[1].subject and "failed" in mailoutbox[1].subject
    assert "path/to/users-2024-04-01.avro" in mailoutbox[1].body


def test_run_courier_command_prints_the_status_lines_and_counts(three_days, s3_endpoint):
    bucket, summary = three_days
    feed = users_feed()
    users_courier(bucket, s3_endpoint, feed, name="Heap shell")
    out = io.StringIO()
    call_command(
        "run_courier", "Heap shell", "--start", "2024-03-01", "--end", "2024-03-04", stdout=out
    )
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines[0] == ("Courier run request: data from 2024-03-01 up to 2024-03-04 (exclusive)")
    assert "Loading data" in lines
    assert any(line.startswith("Completed in ") for line in lines)
    expected = len(expected_tables(summary.spec, ["users"])["users"])
    rows = summary.rows_per_table["users"]
    assert out.getvalue().splitlines()[-1] == (
        f"{feed.table_name}: read {rows}, inserted {expected}, updated 0, rejected 0"
    )
    assert CourierRun.objects.get().started_by == "shell"


def test_run_courier_command_refuses_an_unknown_courier_and_reports_a_failure(
    three_days, s3_endpoint
):
    bucket, _ = three_days
    users_courier(bucket, s3_endpoint, None, name="Heap shell")
    with pytest.raises(CommandError, match=r'No courier named "Nope" \(couriers: Heap shell\)'):
        call_command("run_courier", "Nope", "--day", "2024-03-01")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Run \d+ failed"):
        call_command("run_courier", "Heap shell", "--day", "2024-04-01", stdout=out)
    assert 'no object matches "path/to/users-2024-04-01.avro"' in out.getvalue()
