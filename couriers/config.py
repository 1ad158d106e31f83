"""Validation of a courier's entities list and load operations.

Every message starts with the path of the offending value, so the user can find it:

    entities[2].object/land-as.file/content-type: unknown content type "text/xls"
    load-operations["df-xxxxxx"][1].file: required for a load operation

Indexes are 0-based, as in the JSON.  Nothing here checks that a feed id exists: that is
only known at run time (``Cannot find required feeds: "df-xxxxxx"``).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from couriers.patterns import FilePattern, PatternError
from feeds.readers import CONTENT_TYPES as READABLE_CONTENT_TYPES
from feeds.readers import DELIMITED_TYPES
from feeds.readers import ENCODINGS as READABLE_ENCODINGS

__all__ = [
    "CONTENT_TYPES",
    "DELIMITED_CONTENT_TYPES",
    "ENTITY_KEYS",
    "FILE_KEYS",
    "ARCHIVE_MEMBER_KEYS",
    "LOAD_OPERATION_TYPES",
    "parse_json",
    "validate_entities",
    "validate_load_operations",
    "entity_tags",
    "load_operation_feed_ids",
]

# One list of content types: the ones a reader exists for (XML and CBOR exist in Amperity, but
# no reader reads them here, so an entities list naming them is refused at save).
CONTENT_TYPES = tuple(READABLE_CONTENT_TYPES)
DELIMITED_CONTENT_TYPES = tuple(DELIMITED_TYPES)
ENCODINGS = tuple(READABLE_ENCODINGS)

OBJECT_TYPES = ("file", "archive")
ENTITY_KEYS = (
    "object/type",
    "object/file-pattern",
    "object/optional",
    "object/land-as",
    "archive/contents",
    "archive/skip-missing-contents",
)
FILE_KEYS = (
    "file/tag",
    "file/content-type",
    "file/header-rows",
    "file/separator",
    "file/quote",
    "file/escape",  # these two carry the reviewed settings a run must read with
    "file/encoding",
)
ARCHIVE_MEMBER_KEYS = ("subobject/land-as",)
LOAD_OPERATION_TYPES = ("truncate", "load")
LOAD_OPERATION_KEYS = ("type", "file")

ENTITIES = "entities"
LOAD_OPERATIONS = "load-operations"


# -- helpers ------------------------------------------------------------------------------


def _q(value: Any) -> str:
    """A value quoted the way JSON writes it."""
    return json.dumps(value, ensure_ascii=False)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _unknown_key(path: str, key: str, known: tuple[str, ...]) -> str:
    msg = f"{path}.{key}: unknown key" if path else f"{key}: unknown key"
    # Same name under another namespace ("land-as", "object/tag") first, then a near spelling.
    tail = key.rsplit("/", 1)[-1]
    close = [k for k in known if k.rsplit("/", 1)[-1] == tail]
    close = close or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        msg += f' (did you mean "{close[0]}"?)'
    else:
        msg += f" (allowed: {', '.join(known)})"
    return msg


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- JSON ---------------------------------------------------------------------------------


def parse_json(text: str | None, what: str) -> tuple[Any, list[str]]:
    """Parse ``text``; return ``(value, [])`` or ``(None, [message])``.

    ``what`` names the field in messages: ``"entities list: invalid JSON at line 3 column 5:
    Expecting ',' delimiter"``.
    """
    if text is None or not text.strip():
        return None, [f"{what}: required (enter JSON)"]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [f"{what}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]


# -- entities -----------------------------------------------------------------------------


def _validate_land_as(value: Any, path: str, tags_seen: dict[str, str], errors: list[str]) -> None:
    """Check an object of file/* keys at ``path`` (…object/land-as or …subobject/land-as)."""
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object of file/* keys, got {_json_kind(value)}")
        return
    for key in value:
        if key not in FILE_KEYS:
            errors.append(_unknown_key(path, key, FILE_KEYS))

    tag = value.get("file/tag")
    if "file/tag" not in value:
        errors.append(f"{path}.file/tag: required (the name load operations refer to)")
    elif not isinstance(tag, str):
        errors.append(f"{path}.file/tag: must be a string, got {_json_kind(tag)}")
    elif not tag.strip():
        errors.append(f"{path}.file/tag: must not be empty")
    elif tag != tag.strip():
        errors.append(f"{path}.file/tag: must not start or end with spaces")
    elif tag in tags_seen:
        errors.append(f"{path}.file/tag: duplicate tag {_q(tag)} (also used by {tags_seen[tag]})")
    else:
        tags_seen[tag] = path

    if "file/content-type" in value:
        ct = value["file/content-type"]
        if not isinstance(ct, str):
            errors.append(f"{path}.file/content-type: must be a string, got {_json_kind(ct)}")
        elif ct not in CONTENT_TYPES:
            errors.append(
                f"{path}.file/content-type: unknown content type {_q(ct)} "
                f"(known: {', '.join(CONTENT_TYPES)})"
            )

    if "file/header-rows" in value:
        hr = value["file/header-rows"]
        if not _is_int(hr):
            errors.append(
                f"{path}.file/header-rows: must be a whole number (0 = no header), "
                f"got {_json_kind(hr) if not isinstance(hr, str) else _q(hr)}"
            )
        elif hr < 0:
            errors.append(f"{path}.file/header-rows: must be 0 or more, got {hr}")

    if "file/encoding" in value and value["file/encoding"] not in ENCODINGS:
        errors.append(
            f"{path}.file/encoding: unknown encoding {_q(str(value['file/encoding']))} "
            f"(known: {', '.join(ENCODINGS)})"
        )
    for key in ("file/separator", "file/quote", "file/escape"):
        if key in value:
            ch = value[key]
            if not isinstance(ch, str):
                errors.append(f"{path}.{key}: must be a single character, got {_json_kind(ch)}")
            elif len(ch) != 1:
                errors.append(f"{path}.{key}: must be a single character, got {_q(ch)}")


def _validate_archive_contents(
    value: Any, path: str, tags_seen: dict[str, str], errors: list[str]
) -> None:
    if not isinstance(value, dict):
        errors.append(
            f'{path}: must be an object of member name -> {{"subobject/land-as": {{...}}}}, '
            f"got {_json_kind(value)}"
        )
        return
    if not value:
        errors.append(f"{path}: must describe at least one archive member")
        return
    for name, member in value.items():
        mpath = f"{path}[{_q(name)}]"
        if not name.strip():
            errors.append(f"{mpath}: member name must not be empty")
        if not isinstance(member, dict):
            errors.append(
                f'{mpath}: must be an object {{"subobject/land-as": {{...}}}}, '
                f"got {_json_kind(member)}"
            )
            continue
        for key in member:
            if key not in ARCHIVE_MEMBER_KEYS:
                errors.append(_unknown_key(mpath, key, ARCHIVE_MEMBER_KEYS))
        if "subobject/land-as" not in member:
            errors.append(f"{mpath}.subobject/land-as: required for each archive member")
        else:
            _validate_land_as(
                member["subobject/land-as"], f"{mpath}.subobject/land-as", tags_seen, errors
            )


def validate_entities(value: Any) -> list[str]:
    """All problems in an entities list (already parsed from JSON); ``[]`` if it is valid.

    The list must be a non-empty JSON array of objects; ``file/tag`` values must be unique
    across the whole list (archive members included).
    """
    errors: list[str] = []
    if not isinstance(value, list):
        return [f"{ENTITIES}: must be a JSON array of objects, got {_json_kind(value)}"]
    if not value:
        return [f"{ENTITIES}: must list at least one file to pull"]
    tags_seen: dict[str, str] = {}
    for i, entity in enumerate(value):
        path = f"{ENTITIES}[{i}]"
        if not isinstance(entity, dict):
            errors.append(f"{path}: must be an object, got {_json_kind(entity)}")
            continue
        for key in entity:
            if key in ENTITY_KEYS:
                continue
            file_key = [k for k in FILE_KEYS if k.rsplit("/", 1)[-1] == key.rsplit("/", 1)[-1]]
            if file_key:
                errors.append(
                    f'{path}.{key}: unknown key ("{file_key[0]}" belongs inside object/land-as)'
                )
            else:
                errors.append(_unknown_key(path, key, ENTITY_KEYS))

        otype = entity.get("object/type")
        if "object/type" not in entity:
            errors.append(f'{path}.object/type: required ("file" or "archive")')
            otype = None
        elif otype not in OBJECT_TYPES:
            shown = _q(otype) if isinstance(otype, str) else _json_kind(otype)
            errors.append(f'{path}.object/type: must be "file" or "archive", got {shown}')
            otype = None

        if "object/file-pattern" not in entity:
            errors.append(f"{path}.object/file-pattern: required")
        else:
            fp = entity["object/file-pattern"]
            if not isinstance(fp, str):
                errors.append(f"{path}.object/file-pattern: must be a string, got {_json_kind(fp)}")
            else:
                try:
                    FilePattern.parse(fp)
                except PatternError as exc:
                    errors.append(f"{path}.object/file-pattern: {exc}")

        if "object/optional" in entity and not _is_bool(entity["object/optional"]):
            errors.append(
                f"{path}.object/optional: must be true or false, "
                f"got {_json_kind(entity['object/optional'])}"
            )

        if otype == "file":
            if "object/land-as" not in entity:
                errors.append(f'{path}.object/land-as: required for object/type "file"')
            else:
                _validate_land_as(
                    entity["object/land-as"], f"{path}.object/land-as", tags_seen, errors
                )
            for key in ("archive/contents", "archive/skip-missing-contents"):
                if key in entity:
                    errors.append(f'{path}.{key}: only allowed for object/type "archive"')
        elif otype == "archive":
            if "object/land-as" in entity:
                errors.append(
                    f'{path}.object/land-as: not used for object/type "archive" '
                    "(describe each member under archive/contents)"
                )
            if "archive/contents" not in entity:
                errors.append(f'{path}.archive/contents: required for object/type "archive"')
            else:
                _validate_archive_contents(
                    entity["archive/contents"], f"{path}.archive/contents", tags_seen, errors
                )
            if "archive/skip-missing-contents" in entity and not _is_bool(
                entity["archive/skip-missing-contents"]
            ):
                errors.append(
                    f"{path}.archive/skip-missing-contents: must be true or false, "
                    f"got {_json_kind(entity['archive/skip-missing-contents'])}"
                )
        else:  # object/type missing or wrong: still check what is there
            if "object/land-as" in entity:
                _validate_land_as(
                    entity["object/land-as"], f"{path}.object/land-as", tags_seen, errors
                )
            if "archive/contents" in entity:
                _validate_archive_contents(
                    entity["archive/contents"], f"{path}.archive/contents", tags_seen, errors
                )
    return errors


def entity_tags(entities: Any) -> list[str]:
    """Every ``file/tag`` in the list (archive members included), in order, without repeats.

    Tolerant: entries that are not well formed are skipped, so this can be used on a list
    that failed validation.
    """
    tags: list[str] = []

    def add(land_as: Any) -> None:
        if isinstance(land_as, dict):
            tag = land_as.get("file/tag")
            if isinstance(tag, str) and tag.strip() and tag not in tags:
                tags.append(tag)

    if not isinstance(entities, list):
        return tags
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        add(entity.get("object/land-as"))
        contents = entity.get("archive/contents")
        if isinstance(contents, dict):
            for member in contents.values():
                if isinstance(member, dict):
                    add(member.get("subobject/land-as"))
    return tags


# -- load operations ----------------------------------------------------------------------


def validate_load_operations(value: Any, tags: list[str] | None = None) -> list[str]:
    """All problems in load operations (already parsed from JSON); ``[]`` if valid.

    ``{}`` is valid (the courier only lands files).  When ``tags`` (the entities list's
    file tags) is given, a load operation naming another tag is an error.
    """
    if not isinstance(value, dict):
        return [
            f"{LOAD_OPERATIONS}: must be a JSON object {{feed-id: [operation, ...]}}, "
            f"got {_json_kind(value)}"
        ]
    errors: list[str] = []
    known_tags = tuple(tags) if tags is not None else None
    for feed_id, ops in value.items():
        path = f"{LOAD_OPERATIONS}[{_q(feed_id)}]"
        if not feed_id.strip():
            errors.append(f"{path}: feed id must not be empty")
        if not isinstance(ops, list):
            errors.append(f"{path}: must be a list of operations, got {_json_kind(ops)}")
            continue
        if not ops:
            errors.append(
                f'{path}: must list at least one operation, e.g. {{"type": "load", "file": "<tag>"}}'
            )
            continue
        for j, op in enumerate(ops):
            opath = f"{path}[{j}]"
            if not isinstance(op, dict):
                errors.append(f"{opath}: must be an object, got {_json_kind(op)}")
                continue
            for key in op:
                if key not in LOAD_OPERATION_KEYS:
                    errors.append(_unknown_key(opath, key, LOAD_OPERATION_KEYS))
            otype = op.get("type")
            if "type" not in op:
                errors.append(f'{opath}.type: required ("truncate" or "load")')
                continue
            if otype not in LOAD_OPERATION_TYPES:
                shown = _q(otype) if isinstance(otype, str) else _json_kind(otype)
                errors.append(f'{opath}.type: must be "truncate" or "load", got {shown}')
                continue
            if otype == "truncate":
                if "file" in op:
                    errors.append(f"{opath}.file: not used by a truncate operation")
                continue
            # load
            if "file" not in op:
                errors.append(f"{opath}.file: required for a load operation")
                continue
            ftag = op["file"]
            if not isinstance(ftag, str):
                errors.append(f"{opath}.file: must be a file/tag string, got {_json_kind(ftag)}")
            elif not ftag.strip():
                errors.append(f"{opath}.file: must not be empty")
            elif known_tags is not None and ftag not in known_tags:
                msg = f"{opath}.file: no entity in the entities list has file/tag {_q(ftag)}"
                close = difflib.get_close_matches(ftag, known_tags, n=1, cutoff=0.6)
                if close:
                    msg += f" (did you mean {_q(close[0])}?)"
                elif known_tags:
                    msg += f" (tags: {', '.join(_q(t) for t in known_tags)})"
                errors.append(msg)
    return errors


def load_operation_feed_ids(ops: Any) -> list[str]:
    """The feed ids named in load operations, in order (``[]`` for anything not an object)."""
    if not isinstance(ops, dict):
        return []
    return [k for k in ops if isinstance(k, str)]
