"""Exported CSV is safe to open in a spreadsheet: a text cell that would start a formula gets
a leading single quote (the OWASP rule); numbers, including negative ones, stay numbers."""

import csv
import io
from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from psycopg import sql

from amperity_sources.csv_safe import neutralise
from amperity_sources.db import domain_connection
from couriers.models import Courier
from tests.factories import make_credential, make_feed, run_here

pytestmark = pytest.mark.django_db

NOTES = {
    1: ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    2: ("+1 555 0100", "'+1 555 0100"),
    3: ("-2+3", "'-2+3"),
    4: ("@SUM(A1)", "'@SUM(A1)"),
    5: ("\tTab", "'\tTab"),
    6: ("\rReturn", "'\rReturn"),
    7: ("-5", "-5"),  # a plain number in a text column is no formula
    8: ("+3.25e2", "+3.25e2"),
    9: ("plain, with comma", "plain, with comma"),
    10: ("", ""),
    11: (None, ""),
}


def test_neutralise_rule():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("-1.5") == "-1.5" and neutralise("-.5") == "-.5"
    assert neutralise("-") == "'-" and neutralise("-1,5") == "'-1,5"
    assert neutralise("a=b") == "a=b" and neutralise("") == ""


def test_explorer_export_neutralises_text_cells_only(analyst_client):
    feed = make_feed(
        "Export", "Notes", [("id", "integer"), ("note", "string"), ("amount", "integer")], ["id"]
    )
    table = sql.Identifier(settings.DOMAIN_SCHEMA, feed.table_name)
    with domain_connection(autocommit=True) as conn:
        for i, (note, _) in NOTES.items():
            conn.execute(
                sql.SQL("INSERT INTO {} (id, note, amount, _pk) VALUES (%s, %s, %s, %s)").format(
                    table
                ),
                (i, note, -5 * i, f"{i:07d}"),
            )
    response = analyst_client.get(reverse("feeds:table", args=[feed.pk]), {"format": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [r["id"] for r in rows] == [str(i) for i in NOTES]
    for row in rows:
        i = int(row["id"])
        assert row["note"] == NOTES[i][1], i
        assert row["amount"] == str(-5 * i)  # an integer column's -5 stays -5
    lines = body.split("\n")
    # Postgres's own CSV form is kept: "" is an empty text, nothing is NULL.
    assert lines[10].startswith('10,"",') and lines[11].startswith("11,,")


@pytest.mark.django_db(transaction=True)
def test_run_error_log_neutralises_values_and_file_names(analyst_client, s3, bucket, s3_endpoint):
    body = b'id,age\n1,"=HYPERLINK(""http://x"")"\n2,-5.5\n3,30\n'
    s3.put_object(Bucket=bucket, Key="+people-2024-03-01.csv", Body=body)
    feed = make_feed(
        "Export",
        f"People {bucket}",
        [("id", "integer"), ("age", "integer")],
        ["id"],
        error_threshold=100.0,
    )
    courier = Courier.objects.create(
        name=f"Export {bucket}",
        credential=make_credential(s3_endpoint),
        bucket=bucket,
        entities=[
            {
                "object/type": "file",
                "object/file-pattern": "'+people-'yyyy'-'MM'-'dd'.csv'",
                "object/land-as": {"file/tag": "people", "file/content-type": "text/csv"},
            }
        ],
        load_operations={feed.pk: [{"type": "load", "file": "people"}]},
    )
    run = run_here(courier, start_date=date(2024, 3, 1))
    assert run.status == "succeeded", run.error
    response = analyst_client.get(reverse("couriers:run_errors", args=[run.pk]))
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline=""))
    )
    assert [(r["file"], r["row"], r["value"]) for r in rows] == [
        ("'+people-2024-03-01.csv", "1", '\'=HYPERLINK("http://x")'),
        ("'+people-2024-03-01.csv", "2", "-5.5"),
    ]
