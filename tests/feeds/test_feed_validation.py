"""feed_validate: every reason a feed cannot be activated, in words naming the field."""

import pytest

from feeds.models import DataSource, Feed
from feeds.services import FeedInvalid, feed_activate, feed_update_fields, feed_validate

pytestmark = pytest.mark.django_db

GOOD = [
    {"incoming": "id", "type": "integer"},
    {"incoming": "Email Address", "name": "email", "type": "string", "semantic_tag": "email"},
    {"incoming": "updated", "type": "datetime"},
]


@pytest.fixture
def feed():
    return Feed.objects.create(data_source=DataSource.objects.create(name="Shop"), name="Customers")


def edit(feed, fields=GOOD, **kw):
    kw.setdefault("primary_key", ["id"])
    return feed_update_fields(feed=feed, fields=fields, **kw)


def test_a_good_feed_has_no_problems(feed):
    assert feed_validate(edit(feed, last_updated_field="updated")) == []


def test_no_fields_and_no_primary_key(feed):
    assert feed_validate(edit(feed, fields=[], primary_key=[])) == [
        "Add at least one field.",
        "Choose a primary key: one or more fields.",
    ]


def test_a_name_with_other_characters_needs_a_rename(feed):
    fields = [*GOOD, {"incoming": "First Name", "type": "string"}]
    assert feed_validate(edit(feed, fields)) == [
        'Field "First Name" needs a rename: field names may contain only letters, numbers and '
        "underscores."
    ]
    fields[-1] = {"incoming": "First Name", "name": "first-name", "type": "string"}
    assert feed_validate(edit(feed, fields)) == [
        'Field "First Name" cannot be renamed "first-name": field names may contain only '
        "letters, numbers and underscores."
    ]


def test_duplicate_resulting_names(feed):
    fields = [*GOOD, {"incoming": "mail", "name": "email", "type": "string"}]
    problems = feed_validate(edit(feed, fields))
    assert problems == ['Two or more fields are named "email": rename one of them.'] * 2


def test_reserved_names(feed):
    fields = [*GOOD, {"incoming": "_pk", "type": "string"}]
    assert feed_validate(edit(feed, fields)) == [
        'Field "_pk": "_pk" is a reserved name; rename it.'
    ]


@pytest.mark.parametrize(
    "tag, type_, message",
    [
        ("birthdate", "string", 'Field "x" is tagged birthdate, so it must be a Date.'),
        ("phone", "integer", 'Field "x" is tagged phone, so it must be a String.'),
        ("postal", "integer", 'Field "x" is tagged postal, so it must be a String.'),
        (
            "Bad Tag",
            "string",
            'Field "x": semantic tag "Bad Tag": tags use lower-case letters, digits and hyphens '
            "(e.g. fk-heap-user).",
        ),
    ],
)
def test_semantic_tags_constrain_types(feed, tag, type_, message):
    fields = [*GOOD, {"incoming": "x", "type": type_, "semantic_tag": tag}]
    assert feed_validate(edit(feed, fields)) == [message]


def test_custom_tags_with_hyphens_are_fine(feed):
    fields = [*GOOD, {"incoming": "x", "type": "string", "semantic_tag": "fk-heap-user"}]
    fields.append({"incoming": "y", "type": "string", "semantic_tag": "txn-item/sku"})
    assert feed_validate(edit(feed, fields)) == []


def test_last_updated_field_must_be_datetime_or_integer(feed):
    assert feed_validate(edit(feed, last_updated_field="email")) == [
        'The last updated field "email" must be a Datetime, a Timestamp or an Integer '
        "(it is String)."
    ]
    assert feed_validate(edit(feed, last_updated_field="id")) == []
    assert feed_validate(edit(feed, last_updated_field="gone")) == [
        'The last updated field "gone" is not a field.'
    ]


@pytest.mark.parametrize("threshold", [-1, 100.5])
def test_error_threshold_range(feed, threshold):
    assert feed_validate(edit(feed, error_threshold=threshold)) == [
        "The error threshold must be between 0 and 100 %."
    ]


def test_decimal_precision_and_scale(feed):
    fields = [*GOOD, {"incoming": "amount", "type": "decimal", "precision": 5, "scale": 7}]
    assert feed_validate(edit(feed, fields)) == [
        'Field "amount": scale must be between 0 and the precision.'
    ]


def test_activation_refuses_an_invalid_feed_and_names_the_field(feed):
    fields = [*GOOD, {"incoming": "First Name", "type": "string"}]
    with pytest.raises(FeedInvalid) as caught:
        feed_activate(feed=edit(feed, fields))
    assert [p.field for p in caught.value.problems] == ["First Name"]
    feed.refresh_from_db()
    assert feed.status == "draft"
