"""feed_validate: every reason a feed cannot be activated, naming the field."""

from __future__ import annotations

from collections import Counter

from feeds.inference import FIELD_NAME
from feeds.loader import FIELD_TYPES
from feeds.loading.spec import LAST_UPDATED_TYPES, NOT_KEY_TYPES
from feeds.models import Feed, FeedField
from feeds.tags import TAG_TYPES, tag_problem

from .errors import Problem

RESERVED = ("_pk", "_updated", "_loaded_at", "_file_date")
MAX_NAME_BYTES = 63


def feed_problems(feed: Feed, fields: list[FeedField] | None = None) -> list[Problem]:
    fields = list(feed.fields.all()) if fields is None else fields
    problems: list[Problem] = []
    if not fields:
        problems.append(Problem("Add at least one field."))
    counts = Counter(f.name for f in fields)
    by_name = {f.name: f for f in fields}
    for f in fields:
        label = f'Field "{f.incoming}"'
        if not f.name:
            problems.append(Problem(f"{label} needs a name.", f.incoming))
        elif not FIELD_NAME.match(f.name):
            what = "needs a rename" if f.name == f.incoming else f'cannot be renamed "{f.name}"'
            problems.append(
                Problem(
                    f"{label} {what}: field names may contain only letters, numbers and "
                    "underscores.",
                    f.incoming,
                )
            )
        elif f.name in RESERVED:
            problems.append(
                Problem(f'{label}: "{f.name}" is a reserved name; rename it.', f.incoming)
            )
        elif len(f.name.encode()) > MAX_NAME_BYTES:
            problems.append(Problem(f"{label}: the name is longer than 63 characters.", f.incoming))
        if f.name and counts[f.name] > 1:
            problems.append(
                Problem(f'Two or more fields are named "{f.name}": rename one of them.', f.incoming)
            )
        if f.type not in FIELD_TYPES:
            problems.append(Problem(f"{label} has no type.", f.incoming))
        if f.type == FeedField.Type.DECIMAL:
            if f.precision is not None and not 1 <= f.precision <= 76:
                problems.append(Problem(f"{label}: precision must be 1–76.", f.incoming))
            if f.scale is not None and (f.precision is None or f.scale > f.precision):
                problems.append(
                    Problem(f"{label}: scale must be between 0 and the precision.", f.incoming)
                )
        tag = f.semantic_tag
        if tag in TAG_TYPES and f.type != TAG_TYPES[tag][0]:
            problems.append(
                Problem(f"{label} is tagged {tag}, so it must be {TAG_TYPES[tag][1]}.", f.incoming)
            )
        elif (why := tag_problem(tag)) is not None:
            problems.append(Problem(f'{label}: semantic tag "{tag}": {why}.', f.incoming))
    if not feed.primary_key:
        problems.append(Problem("Choose a primary key: one or more fields."))
    for name in feed.primary_key:
        if name not in by_name:
            problems.append(Problem(f'The primary key field "{name}" is not a field of this feed.'))
        elif by_name[name].type in NOT_KEY_TYPES:
            key = by_name[name]
            problems.append(
                Problem(
                    f'The primary key field "{name}" is {key.get_type_display()}, which cannot be '
                    "part of a primary key: choose another field.",
                    key.incoming,
                )
            )
    if feed.last_updated_field:
        lu = by_name.get(feed.last_updated_field)
        if lu is None:
            problems.append(
                Problem(f'The last updated field "{feed.last_updated_field}" is not a field.')
            )
        elif lu.type not in LAST_UPDATED_TYPES:
            problems.append(
                Problem(
                    f'The last updated field "{lu.name}" must be a Datetime, a Timestamp or an '
                    f"Integer (it is {lu.get_type_display()}).",
                    lu.incoming,
                )
            )
    if not 0 <= feed.error_threshold <= 100:
        problems.append(Problem("The error threshold must be between 0 and 100 %."))
    return problems


def feed_validate(feed: Feed) -> list[str]:
    """Messages saying why ``feed`` cannot be activated; [] when it can."""
    return [p.message for p in feed_problems(feed)]
