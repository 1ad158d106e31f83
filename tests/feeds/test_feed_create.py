"""Creating a feed from a sample: the grid is filled with inferred types, renames and tags."""

import io
import uuid

import pytest

from feeds.inference import suggest_rename, type_from_values
from feeds.models import DataSource
from feeds.samples import open_sample, sample_files, upload_sample
from feeds.services import FeedError, feed_copy, feed_create

pytestmark = pytest.mark.django_db

USERS_CSV = (
    "user_id,email,First Name,last_name,phone,zip,joindate,last_modified,score,balance,active,dob\n"
    "1,a@example.com,Ann,Lee,555-0100,02134,2024-01-02 10:00:00,2024-03-01T08:00:00Z,1.5,10.25,true,1990-05-01\n"
    "2,b@example.com,Bo,Kim,555-0101,98101,2024-01-03 11:30:00,2024-03-02T09:00:00Z,2,3.10,false,1985-12-31\n"
    "3,,Cy,Ng,,10001,2024-01-04 12:00:00,,1e3,7.00,yes,\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def uploaded(text: str = USERS_CSV, name: str = "users.csv") -> dict:
    return upload_sample(stream=io.BytesIO(text.encode()), name=name)


def test_uploaded_sample_fills_the_grid_with_types_renames_and_tags():
    source = f"Heap{uuid.uuid4().hex[:6]}"
    feed = feed_create(
        data_source_name=source,
        name="Users",
        sample=uploaded(),
        file_settings={},
        load_sample_on_activation=True,
    )
    fields = {f.incoming: f for f in feed.fields.all()}
    assert list(fields) == [
        "user_id", "email", "First Name", "last_name", "phone", "zip", "joindate",
        "last_modified", "score", "balance", "active", "dob",
    ]  # fmt: skip
    types = {k: f.type for k, f in fields.items()}
    assert types == {
        "user_id": "integer", "email": "string", "First Name": "string", "last_name": "string",
        "phone": "string", "zip": "string", "joindate": "datetime", "last_modified": "datetime",
        "score": "float", "balance": "decimal", "active": "boolean", "dob": "date",
    }  # fmt: skip
    assert (fields["balance"].precision, fields["balance"].scale) == (18, 2)
    # A rename is suggested only where the name has other characters than letters/digits/_.
    assert fields["First Name"].name == "first_name"
    assert all(f.name == f.incoming for k, f in fields.items() if k != "First Name")
    tags = {k: f.semantic_tag for k, f in fields.items()}
    assert tags["user_id"] == "pk"
    assert tags["email"] == "email"
    assert tags["First Name"] == "given-name"
    assert tags["last_name"] == "surname"
    assert tags["phone"] == "phone"
    assert tags["zip"] == "postal"
    assert tags["joindate"] == "create-dt"
    assert tags["last_modified"] == "update-dt"
    assert tags["dob"] == "birthdate"
    assert feed.primary_key == ["user_id"]
    assert feed.file_settings["content_type"] == "text/csv"
    assert feed.load_sample_on_activation is True
    assert DataSource.objects.filter(name=source).exists()
    assert feed.table_name == f"{source}:Users"


def test_a_user_id_that_is_not_the_key_is_a_foreign_key():
    csv = "event_id,user_id,time\n10,1,2024-01-01 00:00:00\n"
    feed = feed_create(
        data_source_name="Heap",
        name="Pageviews",
        sample=uploaded(csv, "pageviews.csv"),
        file_settings={},
        load_sample_on_activation=False,
    )
    tags = {f.name: f.semantic_tag for f in feed.fields.all()}
    assert feed.primary_key == ["event_id"]
    assert tags == {"event_id": "pk", "user_id": "fk-heap-user", "time": ""}


def test_feed_without_sample_and_duplicate_names():
    feed = feed_create(
        data_source_name="Shop", name="Orders", sample={}, file_settings={},
        load_sample_on_activation=True,
    )  # fmt: skip
    assert feed.fields.count() == 0 and not feed.load_sample_on_activation
    with pytest.raises(FeedError, match='already has a feed named "Orders"'):
        feed_create(
            data_source_name="Shop", name="Orders", sample={}, file_settings={},
            load_sample_on_activation=False,
        )  # fmt: skip
    with pytest.raises(FeedError, match="cannot contain"):
        feed_create(
            data_source_name="Shop:x", name="Orders", sample={}, file_settings={},
            load_sample_on_activation=False,
        )  # fmt: skip


def test_copy_keeps_fields_and_key_as_a_draft():
    feed = feed_create(
        data_source_name="Heap", name="Users", sample=uploaded(), file_settings={},
        load_sample_on_activation=False,
    )  # fmt: skip
    copy = feed_copy(feed=feed)
    assert copy.pk != feed.pk and copy.name == "Users copy" and copy.status == "draft"
    assert [f.name for f in copy.fields.all()] == [f.name for f in feed.fields.all()]
    assert copy.primary_key == ["user_id"]
    assert feed_copy(feed=feed).name == "Users copy 2"


def test_uploaded_samples_are_listed_newest_first_and_reopened():
    first = uploaded("a\n1\n", "first.csv")
    second = uploaded("a\n2\n", "second.csv")
    listed = [r["id"] for r in sample_files("upload")]
    assert set(listed[:2]) == {first["id"], second["id"]}
    stream, name = open_sample(second)
    with stream:
        assert (stream.read(), name) == (b"a\n2\n", "second.csv")


def test_an_upload_ref_cannot_escape_the_samples_folder():
    from feeds.samples import SampleError

    with pytest.raises(SampleError):
        open_sample({"kind": "upload", "id": "../../etc/passwd", "name": "passwd"})


@pytest.mark.parametrize(
    "values, expected",
    [
        (["1", "-2", None, ""], "integer"),
        (["1.5", "2"], "decimal"),
        (["1.123456789", "2"], "float"),
        (["true", "False", "y"], "boolean"),
        (["2024-01-01", "2023-12-31"], "date"),
        (["2024-01-01", "2024-01-01T10:00:00+02:00"], "datetime"),
        (["2024-02-30"], "string"),
        (["02134", "98101"], "string"),
        (["abc", "1"], "string"),
        ([None, ""], "string"),
    ],
)
def test_types_inferred_from_text_values(values, expected):
    assert type_from_values(values)[0] == expected


def test_rename_suggestions():
    assert suggest_rename("First Name") == "first_name"
    assert suggest_rename("user_id") == ""
    assert suggest_rename("$ amount (USD)") == "amount_usd"
