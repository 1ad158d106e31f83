"""Review file: settings inferred from the start of the object, and the preview they give."""

import gzip
import io
import shutil
import zipfile

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from couriers.models import Courier
from couriers.review import review_file
from credentials.services import credential_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def courier(s3_credential, bucket):
    return Courier.objects.create(
        name="Review test",
        credential=s3_credential,
        bucket=bucket,
        entities=[],
        load_operations={},
    )


def avro_bytes(rows: int = 300) -> bytes:
    schema = {
        "type": "record",
        "name": "users",
        "fields": [
            {"name": "user_id", "type": "long"},
            {"name": "email", "type": ["null", "string"]},
        ],
    }
    out = io.BytesIO()
    records = [{"user_id": i, "email": f"u{i}@example.com"} for i in range(rows)]
    fastavro.writer(out, schema, records, codec="snappy")
    return out.getvalue()


SEMICOLON_CSV = "id;name;city\n1;Ann;Paris\n2;Bob;Oslo\n3;Cyd;Rome\n"


def test_avro_is_recognised_and_previewed(s3, bucket, s3_credential):
    s3.put_object(Bucket=bucket, Key="sync_1/users/part-0.avro", Body=avro_bytes())
    review = review_file(client=s3, bucket=bucket, key="sync_1/users/part-0.avro")
    assert not review.error
    assert review.settings.content_type == "application/avro"
    assert review.preview.columns == ["user_id", "email"]
    assert len(review.preview.rows) == 200 and review.preview.truncated
    assert review.preview.rows[1] == ["1", "u1@example.com"]
    assert review.columns == [("user_id", "int64"), ("email", "string")]


def test_gzipped_semicolon_csv_and_changing_a_setting(s3, bucket):
    s3.put_object(Bucket=bucket, Key="in/people.csv.gz", Body=gzip.compress(SEMICOLON_CSV.encode()))
    review = review_file(client=s3, bucket=bucket, key="in/people.csv.gz")
    assert not review.error
    assert (review.settings.compression, review.settings.delimiter) == ("gzip", ";")
    assert review.settings.header_rows == 1
    assert review.preview.columns == ["id", "name", "city"]
    assert review.preview.rows[0] == ["1", "Ann", "Paris"]
    assert review.preview.raw.startswith("id;name;city")

    comma = review_file(
        client=s3, bucket=bucket, key="in/people.csv.gz", settings={"delimiter": ","}
    )
    assert comma.preview is None
    assert comma.error == (
        'in/people.csv.gz line 1: the declared delimiter "," does not occur, but ";" does: '
        "change the delimiter setting"
    )
    no_header = review_file(
        client=s3, bucket=bucket, key="in/people.csv.gz", settings={"header_rows": 0}
    )
    assert len(no_header.preview.rows) == 4


def test_parquet_reads_only_what_it_needs(s3, bucket):
    table = pa.table({"id": list(range(1000)), "name": [f"n{i}" for i in range(1000)]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=100)
    s3.put_object(Bucket=bucket, Key="p/data.parquet", Body=out.getvalue())
    review = review_file(client=s3, bucket=bucket, key="p/data.parquet")
    assert not review.error
    assert review.settings.content_type == "application/x-parquet"
    assert review.preview.columns == ["id", "name"]
    assert review.preview.rows[0] == ["0", "n0"]


def test_zip_member_can_be_chosen(s3, bucket):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("users.csv", "id,name\n1,Ann\n")
        z.writestr("orders.csv", "order_id,total\n9,12.50\n")
    s3.put_object(Bucket=bucket, Key="drop/export.zip", Body=out.getvalue())
    first = review_file(client=s3, bucket=bucket, key="drop/export.zip")
    assert first.members == ["users.csv", "orders.csv"] and first.member == "users.csv"
    assert first.preview.columns == ["id", "name"]
    orders = review_file(client=s3, bucket=bucket, key="drop/export.zip", member="orders.csv")
    assert orders.preview.columns == ["order_id", "total"]


def test_a_corrupt_file_says_where_and_why(s3, bucket):
    s3.put_object(
        Bucket=bucket, Key="bad/cut.csv.gz", Body=gzip.compress(SEMICOLON_CSV.encode() * 50)[:80]
    )
    review = review_file(client=s3, bucket=bucket, key="bad/cut.csv.gz")
    assert "cut.csv.gz" in review.error and "gzip" in review.error
    s3.put_object(Bucket=bucket, Key="bad/not.parquet", Body=avro_bytes(3))
    mislabelled = review_file(
        client=s3,
        bucket=bucket,
        key="bad/not.parquet",
        settings={"content_type": "application/x-parquet"},
    )
    assert "not a Parquet file" in mislabelled.error
    missing = review_file(client=s3, bucket=bucket, key="bad/nothing.csv")
    assert "Missing file" in missing.error


@pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is not installed")
def test_pgp_file_is_decrypted_with_the_couriers_pgp_credential(s3, bucket, tmp_path):
    import gnupg

    gpg = gnupg.GPG(gnupghome=str(tmp_path))
    key = gpg.gen_key(
        gpg.gen_key_input(
            key_type="EDDSA", key_curve="ed25519", subkey_type="ECDH", subkey_curve="cv25519",
            name_email="review@example.com", passphrase="pass-phrase-1",
        )
    )  # fmt: skip
    secret = gpg.export_keys(key.fingerprint, secret=True, passphrase="pass-phrase-1")
    encrypted = gpg.encrypt(SEMICOLON_CSV.encode(), key.fingerprint, always_trust=True, armor=False)
    s3.put_object(Bucket=bucket, Key="enc/people.csv.pgp", Body=encrypted.data)
    pgp = credential_create(name="PGP", kind="pgp", private_key=secret, passphrase="pass-phrase-1")
    without = review_file(client=s3, bucket=bucket, key="enc/people.csv.pgp")
    assert "PGP" in without.error
    review = review_file(client=s3, bucket=bucket, key="enc/people.csv.pgp", pgp=pgp)
    assert not review.error, review.error
    assert review.preview.columns == ["id", "name", "city"]


def test_review_page_and_in_place_refresh(analyst_client, s3, courier):
    s3.put_object(
        Bucket=courier.bucket, Key="in/people.csv.gz", Body=gzip.compress(SEMICOLON_CSV.encode())
    )
    page = analyst_client.get(f"/couriers/{courier.pk}/review/", {"key": "in/people.csv.gz"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<th>city</th>" in html and "Paris" in html and 'value=";"' in html

    refreshed = analyst_client.get(
        f"/couriers/{courier.pk}/review/preview/",
        {"key": "in/people.csv.gz", "settings_for": "", "content_type": "text/csv",
         "compression": "gzip", "delimiter": ",", "quote": '"', "escape": "",
         "header_rows": "1", "encoding": "utf-8"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert refreshed.status_code == 200  # htmx swaps the panel in: the message shows
    assert "the declared delimiter" in refreshed.content.decode()

    broken = analyst_client.get(
        f"/couriers/{courier.pk}/review/preview/",
        {"key": "in/people.csv.gz", "settings_for": "", "content_type": "application/avro",
         "compression": "none", "delimiter": ",", "quote": '"', "escape": "",
         "header_rows": "1", "encoding": "utf-8"},
    )  # fmt: skip
    assert broken.status_code == 400
    assert "people.csv.gz" in broken.content.decode()
