"""The feed pages over HTTP: Add Feed, the Feed Editor, and the row actions."""

import io
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds.models import Feed
from feeds.samples import _SOURCES, register_sample_source

pytestmark = pytest.mark.django_db
CSV = b"id,First Name,email,updated\n1,Ann,a@x.com,2024-01-01 00:00:00\n2,Bo,b@x.com,2024-01-02 00:00:00\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def analyst_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer"))
    return client


@pytest.fixture
def landed():
    """A stand-in for the couriers' "landed" sample source (registered the same way)."""
    saved = _SOURCES.get("landed")
    files = [
        {"id": 7, "name": "users-2024-04-10.csv", "key": "in/users-2024-04-10.csv",
         "courier": 3, "date": "2024-04-10", "label": "in/users-2024-04-10.csv"},
    ]  # fmt: skip
    register_sample_source(
        "landed", list_files=lambda: files, open_file=lambda ref: (io.BytesIO(CSV), ref["name"])
    )
    yield files
    if saved:
        _SOURCES["landed"] = saved
    else:
        _SOURCES.pop("landed", None)


@pytest.fixture
def source_name():
    name = f"P{uuid.uuid4().hex[:8]}"
    yield name
    with domain_connection(autocommit=True) as conn:
        for feed in Feed.objects.filter(data_source__name=name):
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.SQL("{}.{}").format(
                        sql.Identifier(settings.DOMAIN_SCHEMA), sql.Identifier(feed.table_name)
                    )
                )
            )


def add(client, source_name, **extra):
    data = {"data_source": "", "new_data_source": source_name, "name": "Users",
            "sample": "upload", "sample_file": SimpleUploadedFile("users.csv", CSV),
            "load_sample_on_activation": "on", **extra}  # fmt: skip
    return client.post(reverse("feeds:add"), data)


def grid(feed: Feed, **changes) -> dict:
    """The editor's POST data for the feed as saved, with ``changes`` applied."""
    data = {"fields-TOTAL_FORMS": feed.fields.count(), "fields-INITIAL_FORMS": 0,
            "last_updated_field": feed.last_updated_field, "error_threshold": "1",
            "load_sample_on_activation": "on"}  # fmt: skip
    for i, f in enumerate(feed.fields.all()):
        data |= {f"fields-{i}-incoming": f.incoming, f"fields-{i}-name": f.name,
                 f"fields-{i}-type": f.type, f"fields-{i}-semantic_tag": f.semantic_tag}  # fmt: skip
        if f.name in feed.primary_key:
            data[f"fields-{i}-key"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_add_feed_from_an_upload_opens_the_editor_with_the_grid(analyst_client, source_name):
    response = add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    assert response.status_code == 302 and response["Location"] == reverse(
        "feeds:edit", args=[feed.pk]
    )
    page = analyst_client.get(response["Location"]).content.decode()
    assert f"{source_name}:Users" in page
    assert 'value="first_name"' in page and 'value="given-name"' in page
    assert 'id="sample-rows"' in page and "a@x.com" in page
    assert "Generate an updated field (recommended)" in page
    # The rule the generated field keeps, in one sentence beside it (DOMAIN.md).
    assert "so loading an older day never overwrites newer rows" in page


def test_add_feed_errors_are_next_to_the_field(analyst_client):
    response = analyst_client.post(
        reverse("feeds:add"), {"data_source": "", "name": "Users", "sample": "upload"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["new_data_source"] == [
        "Name the new data source, or select an existing one."
    ]
    assert form.errors["sample_file"] == ["Choose a file to upload, or pick another sample option."]


def test_add_feed_preselects_a_landed_file(analyst_client, landed, source_name):
    url = reverse("feeds:add") + "?courier=3&key=in/users-2024-04-10.csv"
    page = analyst_client.get(url)
    assert page.context["form"].initial["landed_file"] == "7"
    assert "in/users-2024-04-10.csv — 2024-04-10 (#7)" in page.content.decode()
    response = analyst_client.post(reverse("feeds:add"), {
        "new_data_source": source_name, "name": "Users", "sample": "landed", "landed_file": "7"})  # fmt: skip
    feed = Feed.objects.get(data_source__name=source_name)
    assert (
        response.status_code == 302 and feed.sample["kind"] == "landed" and feed.fields.count() == 4
    )


def test_editor_shows_problems_next_to_the_field_and_activation_fails(analyst_client, source_name):
    add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    url = reverse("feeds:edit", args=[feed.pk])
    response = analyst_client.post(url, grid(feed, **{"fields-1-name": "", "action": "activate"}))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Field &quot;First Name&quot; needs a rename" in body
    feed.refresh_from_db()
    assert feed.status == "draft"


def test_add_field_and_activate_with_a_compound_key(analyst_client, source_name):
    add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    url = reverse("feeds:edit", args=[feed.pk])
    added = analyst_client.post(url, grid(feed, action="add"))
    assert added.context["formset"].total_form_count() == 5
    data = grid(feed, **{"fields-TOTAL_FORMS": 5, "fields-4-incoming": "plan",
                         "fields-4-type": "string", "fields-2-key": "on", "action": "activate"})  # fmt: skip
    response = analyst_client.post(url, data)
    assert response.status_code == 302
    feed.refresh_from_db()
    assert feed.status == "active" and feed.primary_key == ["id", "email"]
    messages = [str(m) for m in analyst_client.get(url).context["messages"]]
    assert messages == [f"{feed.table_name} activated.",
                        "Sample file loaded: 2 rows read, 2 inserted, 0 updated, 0 rejected."]  # fmt: skip


def test_changing_the_key_asks_to_confirm_the_purge(analyst_client, source_name):
    add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    url = reverse("feeds:edit", args=[feed.pk])
    analyst_client.post(url, grid(feed, action="activate"))
    feed.refresh_from_db()
    changed = grid(feed, **{"fields-0-key": None, "fields-2-key": "on", "action": "save"})
    response = analyst_client.post(url, changed)
    assert response.status_code == 409 and "purges the table" in response.content.decode()
    feed.refresh_from_db()
    assert feed.primary_key == ["id"]  # nothing changed until confirmed
    response = analyst_client.post(url, {**changed, "action": "purge"})
    assert response.status_code == 302
    feed.refresh_from_db()
    assert feed.primary_key == ["email"] and feed.table_primary_key == ["email"]


def test_row_actions_confirm_before_destroying(analyst_client, source_name):
    add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    analyst_client.post(reverse("feeds:edit", args=[feed.pk]), grid(feed, action="activate"))
    confirm = analyst_client.get(reverse("feeds:truncate", args=[feed.pk])).content.decode()
    assert "Every row of the domain table is deleted" in confirm and "holds 2 rows" in confirm
    analyst_client.post(reverse("feeds:truncate", args=[feed.pk]))
    load = analyst_client.post(reverse("feeds:load", args=[feed.pk]), {
        "source": "upload", "file": SimpleUploadedFile("more.csv", CSV), "load_type": "upsert"})  # fmt: skip
    assert load.status_code == 302
    copy = analyst_client.post(reverse("feeds:copy", args=[feed.pk]), {"name": "Users 2"})
    assert Feed.objects.filter(data_source__name=source_name, name="Users 2").exists()
    assert copy.status_code == 302
    delete = analyst_client.get(reverse("feeds:delete", args=[feed.pk])).content.decode()
    assert "dropped with all its rows" in delete
    analyst_client.post(reverse("feeds:delete", args=[feed.pk]))
    assert not Feed.objects.filter(pk=feed.pk).exists()


def test_a_bad_upload_to_load_new_data_is_a_400(analyst_client, source_name):
    add(analyst_client, source_name)
    feed = Feed.objects.get(data_source__name=source_name)
    analyst_client.post(reverse("feeds:edit", args=[feed.pk]), grid(feed, action="activate"))
    bad = b"id,updated\nx,nope\n"
    response = analyst_client.post(reverse("feeds:load", args=[feed.pk]), {
        "source": "upload", "file": SimpleUploadedFile("bad.csv", bad), "load_type": "upsert"})  # fmt: skip
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
