"""Entities list and load operations validation: every message."""

import copy

import pytest

from couriers.config import (
    CONTENT_TYPES,
    entity_tags,
    load_operation_feed_ids,
    parse_json,
    validate_entities,
    validate_load_operations,
)

SEED_ENTITY = {
    "object/type": "file",
    "object/file-pattern": "'path/to/users'-YYYY-MM-dd'.avro'",
    "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
}
CSV_ENTITY = {
    "object/type": "file",
    "object/file-pattern": "'files/'yyyy'/'MM'/'dd'/customers-*.csv'",
    "object/optional": True,
    "object/land-as": {
        "file/tag": "customers",
        "file/content-type": "text/csv",
        "file/header-rows": 1,
        "file/separator": ",",
        "file/quote": '"',
    },
}
ARCHIVE_ENTITY = {
    "object/type": "archive",
    "object/file-pattern": "'exports/'yyyyMMdd'.zip'",
    "archive/skip-missing-contents": False,
    "archive/contents": {
        "orders.csv": {
            "subobject/land-as": {"file/tag": "orders", "file/content-type": "text/csv"}
        },
        "items-*.tsv": {
            "subobject/land-as": {
                "file/tag": "items",
                "file/content-type": "text/tab-separated-values",
                "file/header-rows": 0,
            }
        },
    },
}


def entities(*extra):
    return [copy.deepcopy(SEED_ENTITY), *copy.deepcopy(list(extra))]


def with_change(base, path, value):
    """A copy of ``base`` with the key at ``path`` (a tuple) set, or removed if value is DELETE."""
    out = copy.deepcopy(base)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


DELETE = object()


# -- parse_json ---------------------------------------------------------------------------


def test_parse_json_ok():
    assert parse_json('[{"a": 1}]', "entities list") == ([{"a": 1}], [])
    assert parse_json("{}", "load operations") == ({}, [])


def test_parse_json_reports_line_and_column():
    value, errors = parse_json('[\n  {"a": 1}\n    "b"]', "entities list")
    assert value is None
    assert errors == ["entities list: invalid JSON at line 3 column 5: Expecting ',' delimiter"]


@pytest.mark.parametrize("text", ["", "  \n", None])
def test_parse_json_empty(text):
    assert parse_json(text, "load operations") == (None, ["load operations: required (enter JSON)"])


# -- valid entities -----------------------------------------------------------------------


def test_seed_example_is_valid():
    assert validate_entities([SEED_ENTITY]) == []


def test_all_keys_valid():
    assert validate_entities([SEED_ENTITY, CSV_ENTITY, ARCHIVE_ENTITY]) == []


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_every_content_type_is_known(content_type):
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/content-type"), content_type)]
    assert validate_entities(ents) == []


def test_content_type_list():
    assert set(CONTENT_TYPES) == {
        "text/csv",
        "text/tab-separated-values",
        "text/pipe-separated-values",
        "application/json",
        "application/x-ndjson",
        "application/avro",
        "application/x-parquet",
    }


@pytest.mark.parametrize("content_type", ["application/xml", "application/cbor"])
def test_content_types_without_a_reader_are_refused_at_save(content_type):
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/content-type"), content_type)]
    [error] = validate_entities(ents)
    assert f'unknown content type "{content_type}"' in error


def test_plain_path_pattern_is_valid():
    ents = [with_change(SEED_ENTITY, ("object/file-pattern",), "path/to/users.avro")]
    assert validate_entities(ents) == []


def test_content_type_is_optional():
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/content-type"), DELETE)]
    assert validate_entities(ents) == []


# -- top level ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [({}, "an object"), ("x", "a string"), (None, "null"), (3, "a number"), (True, "true")],
)
def test_top_level_must_be_array(value, kind):
    assert validate_entities(value) == [f"entities: must be a JSON array of objects, got {kind}"]


def test_empty_array():
    assert validate_entities([]) == ["entities: must list at least one file to pull"]


def test_entry_must_be_object():
    assert validate_entities([SEED_ENTITY, "users.csv"]) == [
        "entities[1]: must be an object, got a string"
    ]


# -- object/* keys ------------------------------------------------------------------------


def test_unknown_entity_key_with_suggestion():
    ents = entities(with_change(CSV_ENTITY, ("object/file-patern",), "x"))
    assert validate_entities(ents) == [
        'entities[1].object/file-patern: unknown key (did you mean "object/file-pattern"?)'
    ]


def test_unknown_entity_key_lists_allowed_keys():
    ents = [with_change(SEED_ENTITY, ("colour",), "red")]
    (msg,) = validate_entities(ents)
    assert msg.startswith("entities[0].colour: unknown key (allowed: object/type, ")


def test_object_type_required():
    ents = [with_change(SEED_ENTITY, ("object/type",), DELETE)]
    assert validate_entities(ents) == ['entities[0].object/type: required ("file" or "archive")']


@pytest.mark.parametrize(("value", "shown"), [("zip", '"zip"'), (1, "a number")])
def test_object_type_invalid(value, shown):
    ents = [with_change(SEED_ENTITY, ("object/type",), value)]
    assert validate_entities(ents) == [
        f'entities[0].object/type: must be "file" or "archive", got {shown}'
    ]


def test_land_as_still_checked_when_type_is_wrong():
    ents = [with_change(SEED_ENTITY, ("object/type",), "zip")]
    ents[0]["object/land-as"]["file/header-rows"] = -1
    assert validate_entities(ents) == [
        'entities[0].object/type: must be "file" or "archive", got "zip"',
        "entities[0].object/land-as.file/header-rows: must be 0 or more, got -1",
    ]


def test_file_pattern_required():
    ents = [with_change(SEED_ENTITY, ("object/file-pattern",), DELETE)]
    assert validate_entities(ents) == ["entities[0].object/file-pattern: required"]


def test_file_pattern_must_be_string():
    ents = [with_change(SEED_ENTITY, ("object/file-pattern",), ["a"])]
    assert validate_entities(ents) == [
        "entities[0].object/file-pattern: must be a string, got an array"
    ]


def test_file_pattern_error_is_reported():
    ents = entities(with_change(CSV_ENTITY, ("object/file-pattern",), "'files/'yyyy'/data"))
    assert validate_entities(ents) == [
        "entities[1].object/file-pattern: unclosed quote at character 13"
    ]


def test_file_pattern_empty():
    ents = [with_change(SEED_ENTITY, ("object/file-pattern",), "")]
    assert validate_entities(ents) == ["entities[0].object/file-pattern: file pattern is empty"]


def test_optional_must_be_bool():
    ents = [with_change(SEED_ENTITY, ("object/optional",), "yes")]
    assert validate_entities(ents) == [
        "entities[0].object/optional: must be true or false, got a string"
    ]


def test_land_as_required_for_file():
    ents = [with_change(SEED_ENTITY, ("object/land-as",), DELETE)]
    assert validate_entities(ents) == [
        'entities[0].object/land-as: required for object/type "file"'
    ]


def test_land_as_must_be_object():
    ents = [with_change(SEED_ENTITY, ("object/land-as",), ["users"])]
    assert validate_entities(ents) == [
        "entities[0].object/land-as: must be an object of file/* keys, got an array"
    ]


def test_archive_keys_not_allowed_on_file():
    ents = [with_change(SEED_ENTITY, ("archive/skip-missing-contents",), True)]
    assert validate_entities(ents) == [
        'entities[0].archive/skip-missing-contents: only allowed for object/type "archive"'
    ]


# -- file/* keys --------------------------------------------------------------------------


def test_unknown_content_type():
    ents = entities(
        CSV_ENTITY, with_change(CSV_ENTITY, ("object/land-as", "file/content-type"), "text/xls")
    )
    ents[2]["object/land-as"]["file/tag"] = "other"
    (msg,) = validate_entities(ents)
    assert msg.startswith(
        'entities[2].object/land-as.file/content-type: unknown content type "text/xls"'
    )
    assert "text/csv" in msg


def test_content_type_must_be_string():
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/content-type"), 1)]
    assert validate_entities(ents) == [
        "entities[0].object/land-as.file/content-type: must be a string, got a number"
    ]


def test_unknown_file_key_with_suggestion():
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/delimiter"), ",")]
    (msg,) = validate_entities(ents)
    assert msg.startswith("entities[0].object/land-as.file/delimiter: unknown key")


def test_unknown_file_key_close_to_known():
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/header-row"), 1)]
    assert validate_entities(ents) == [
        'entities[0].object/land-as.file/header-row: unknown key (did you mean "file/header-rows"?)'
    ]


def test_tag_required():
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/tag"), DELETE)]
    assert validate_entities(ents) == [
        "entities[0].object/land-as.file/tag: required (the name load operations refer to)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (" users", "must not start or end with spaces"),
        (5, "must be a string, got a number"),
        (None, "must be a string, got null"),
    ],
)
def test_tag_invalid(value, message):
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/tag"), value)]
    assert validate_entities(ents) == [f"entities[0].object/land-as.file/tag: {message}"]


def test_duplicate_tag():
    ents = entities(CSV_ENTITY, with_change(CSV_ENTITY, ("object/optional",), False))
    assert validate_entities(ents) == [
        'entities[2].object/land-as.file/tag: duplicate tag "customers" '
        "(also used by entities[1].object/land-as)"
    ]


def test_duplicate_tag_across_archive_member():
    arch = with_change(
        ARCHIVE_ENTITY, ("archive/contents", "orders.csv", "subobject/land-as", "file/tag"), "users"
    )
    assert validate_entities(entities(arch)) == [
        'entities[1].archive/contents["orders.csv"].subobject/land-as.file/tag: '
        'duplicate tag "users" (also used by entities[0].object/land-as)'
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must be 0 or more, got -1"),
        (1.5, "must be a whole number (0 = no header), got a number"),
        ("1", 'must be a whole number (0 = no header), got "1"'),
        (True, "must be a whole number (0 = no header), got true"),
    ],
)
def test_header_rows_invalid(value, message):
    ents = [with_change(SEED_ENTITY, ("object/land-as", "file/header-rows"), value)]
    assert validate_entities(ents) == [f"entities[0].object/land-as.file/header-rows: {message}"]


@pytest.mark.parametrize("key", ["file/separator", "file/quote"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (",,", 'must be a single character, got ",,"'),
        ("", 'must be a single character, got ""'),
        (1, "must be a single character, got a number"),
    ],
)
def test_single_character_keys(key, value, message):
    ents = [with_change(SEED_ENTITY, ("object/land-as", key), value)]
    assert validate_entities(ents) == [f"entities[0].object/land-as.{key}: {message}"]


@pytest.mark.parametrize("sep", ["\t", "|", ";"])
def test_separator_ok(sep):
    ents = [with_change(CSV_ENTITY, ("object/land-as", "file/separator"), sep)]
    assert validate_entities(ents) == []


# -- archives -----------------------------------------------------------------------------


def test_archive_contents_required():
    ents = [with_change(ARCHIVE_ENTITY, ("archive/contents",), DELETE)]
    assert validate_entities(ents) == [
        'entities[0].archive/contents: required for object/type "archive"'
    ]


def test_archive_land_as_not_used():
    ents = [with_change(ARCHIVE_ENTITY, ("object/land-as",), {"file/tag": "x"})]
    assert validate_entities(ents) == [
        'entities[0].object/land-as: not used for object/type "archive" '
        "(describe each member under archive/contents)"
    ]


def test_archive_contents_must_be_object():
    ents = [with_change(ARCHIVE_ENTITY, ("archive/contents",), ["orders.csv"])]
    assert validate_entities(ents) == [
        "entities[0].archive/contents: must be an object of member name -> "
        '{"subobject/land-as": {...}}, got an array'
    ]


def test_archive_contents_empty():
    ents = [with_change(ARCHIVE_ENTITY, ("archive/contents",), {})]
    assert validate_entities(ents) == [
        "entities[0].archive/contents: must describe at least one archive member"
    ]


def test_archive_member_must_be_object():
    ents = [with_change(ARCHIVE_ENTITY, ("archive/contents", "orders.csv"), "text/csv")]
    assert validate_entities(ents) == [
        'entities[0].archive/contents["orders.csv"]: must be an object '
        '{"subobject/land-as": {...}}, got a string'
    ]


def test_archive_member_empty_name():
    ents = [
        with_change(
            ARCHIVE_ENTITY, ("archive/contents", ""), {"subobject/land-as": {"file/tag": "z"}}
        )
    ]
    assert validate_entities(ents) == [
        'entities[0].archive/contents[""]: member name must not be empty'
    ]


def test_archive_member_land_as_required_and_unknown_key():
    ents = [
        with_change(
            ARCHIVE_ENTITY, ("archive/contents", "orders.csv"), {"land-as": {"file/tag": "orders"}}
        )
    ]
    assert validate_entities(ents) == [
        'entities[0].archive/contents["orders.csv"].land-as: unknown key '
        '(did you mean "subobject/land-as"?)',
        'entities[0].archive/contents["orders.csv"].subobject/land-as: '
        "required for each archive member",
    ]


def test_archive_member_file_keys_checked():
    ents = [
        with_change(
            ARCHIVE_ENTITY,
            ("archive/contents", "items-*.tsv", "subobject/land-as", "file/content-type"),
            "text/xls",
        )
    ]
    (msg,) = validate_entities(ents)
    assert msg.startswith(
        'entities[0].archive/contents["items-*.tsv"].subobject/land-as.file/content-type: '
        'unknown content type "text/xls"'
    )


def test_archive_skip_missing_must_be_bool():
    ents = [with_change(ARCHIVE_ENTITY, ("archive/skip-missing-contents",), "no")]
    assert validate_entities(ents) == [
        "entities[0].archive/skip-missing-contents: must be true or false, got a string"
    ]


def test_several_errors_are_all_reported_in_order():
    bad = {"object/type": "file", "object/land-as": {"file/tag": "", "file/quote": "''"}}
    assert validate_entities([bad]) == [
        "entities[0].object/file-pattern: required",
        "entities[0].object/land-as.file/tag: must not be empty",
        "entities[0].object/land-as.file/quote: must be a single character, got \"''\"",
    ]


# -- entity_tags --------------------------------------------------------------------------


def test_entity_tags():
    assert entity_tags([SEED_ENTITY, CSV_ENTITY, ARCHIVE_ENTITY]) == [
        "users",
        "customers",
        "orders",
        "items",
    ]


def test_entity_tags_tolerates_bad_input():
    assert entity_tags({}) == []
    assert entity_tags(None) == []
    assert entity_tags(
        [
            "x",
            {"object/land-as": "y"},
            {"object/land-as": {"file/tag": 3}},
            SEED_ENTITY,
            SEED_ENTITY,
        ]
    ) == ["users"]


# -- load operations ----------------------------------------------------------------------


def test_empty_load_operations_are_valid():
    assert validate_load_operations({}) == []
    assert validate_load_operations({}, tags=[]) == []


def test_seed_load_operations_are_valid():
    ops = {"df-xxxxxx": [{"type": "truncate"}, {"type": "load", "file": "users"}]}
    assert validate_load_operations(ops) == []
    assert validate_load_operations(ops, tags=["users"]) == []


def test_feed_ids_are_not_checked_for_existence():
    ops = {
        "df-doesnotexist": [{"type": "load", "file": "users"}],
        "placeholder": [{"type": "truncate"}],
    }
    assert validate_load_operations(ops, tags=entity_tags([SEED_ENTITY])) == []


@pytest.mark.parametrize(("value", "kind"), [([], "an array"), ("{}", "a string"), (None, "null")])
def test_load_operations_must_be_object(value, kind):
    assert validate_load_operations(value) == [
        f"load-operations: must be a JSON object {{feed-id: [operation, ...]}}, got {kind}"
    ]


def test_operations_must_be_a_list():
    assert validate_load_operations({"df-xxxxxx": {"type": "truncate"}}) == [
        'load-operations["df-xxxxxx"]: must be a list of operations, got an object'
    ]


def test_operations_list_empty():
    assert validate_load_operations({"df-xxxxxx": []}) == [
        'load-operations["df-xxxxxx"]: must list at least one operation, '
        'e.g. {"type": "load", "file": "<tag>"}'
    ]


def test_blank_feed_id():
    assert validate_load_operations({" ": [{"type": "truncate"}]}) == [
        'load-operations[" "]: feed id must not be empty'
    ]


def test_operation_must_be_object():
    assert validate_load_operations({"df-xxxxxx": [{"type": "truncate"}, "load"]}) == [
        'load-operations["df-xxxxxx"][1]: must be an object, got a string'
    ]


def test_operation_type_required():
    assert validate_load_operations({"df-xxxxxx": [{"file": "users"}]}) == [
        'load-operations["df-xxxxxx"][0].type: required ("truncate" or "load")'
    ]


@pytest.mark.parametrize(("value", "shown"), [("upsert", '"upsert"'), (None, "null")])
def test_unknown_operation_type(value, shown):
    assert validate_load_operations({"df-xxxxxx": [{"type": value}]}) == [
        f'load-operations["df-xxxxxx"][0].type: must be "truncate" or "load", got {shown}'
    ]


def test_load_requires_file():
    ops = {"df-xxxxxx": [{"type": "truncate"}, {"type": "load"}]}
    assert validate_load_operations(ops) == [
        'load-operations["df-xxxxxx"][1].file: required for a load operation'
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [(3, "must be a file/tag string, got a number"), ("", "must not be empty")],
)
def test_load_file_invalid(value, message):
    assert validate_load_operations({"df-a": [{"type": "load", "file": value}]}) == [
        f'load-operations["df-a"][0].file: {message}'
    ]


def test_truncate_takes_no_file():
    assert validate_load_operations({"df-a": [{"type": "truncate", "file": "users"}]}) == [
        'load-operations["df-a"][0].file: not used by a truncate operation'
    ]


def test_unknown_operation_key():
    assert validate_load_operations({"df-a": [{"type": "load", "file": "u", "files": "x"}]}) == [
        'load-operations["df-a"][0].files: unknown key (did you mean "file"?)'
    ]


def test_load_of_unknown_tag_with_suggestion():
    ops = {"df-xxxxxx": [{"type": "load", "file": "user"}]}
    assert validate_load_operations(ops, tags=["users", "sessions"]) == [
        'load-operations["df-xxxxxx"][0].file: no entity in the entities list has '
        'file/tag "user" (did you mean "users"?)'
    ]


def test_load_of_unknown_tag_lists_tags():
    ops = {"df-xxxxxx": [{"type": "load", "file": "pageviews"}]}
    assert validate_load_operations(ops, tags=["users", "sessions"]) == [
        'load-operations["df-xxxxxx"][0].file: no entity in the entities list has '
        'file/tag "pageviews" (tags: "users", "sessions")'
    ]


def test_unknown_tag_not_checked_without_tags():
    assert validate_load_operations({"df-a": [{"type": "load", "file": "anything"}]}) == []


def test_load_operation_feed_ids():
    ops = {"df-b": [{"type": "truncate"}], "df-a": []}
    assert load_operation_feed_ids(ops) == ["df-b", "df-a"]
    assert load_operation_feed_ids([]) == []
    assert load_operation_feed_ids(None) == []


def test_parse_then_validate_round_trip():
    value, errors = parse_json(
        '{"df-xxxxxx": [{"type": "truncate"}, {"type": "load"}]}', "load operations"
    )
    assert errors == []
    assert validate_load_operations(value) == [
        'load-operations["df-xxxxxx"][1].file: required for a load operation'
    ]


def test_key_in_wrong_namespace_gets_suggestion():
    ents = [with_change(SEED_ENTITY, ("object/tag",), "users")]
    assert validate_entities(ents) == [
        'entities[0].object/tag: unknown key ("file/tag" belongs inside object/land-as)'
    ]


def test_file_key_at_entity_level():
    ents = [with_change(SEED_ENTITY, ("file/header-rows",), 1)]
    assert validate_entities(ents) == [
        'entities[0].file/header-rows: unknown key ("file/header-rows" belongs inside object/land-as)'
    ]
