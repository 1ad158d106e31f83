"""Semantic tags (DOMAIN.md) and the suggestion made from an incoming field name."""

from __future__ import annotations

import re

# Customer profile (PII) tags; a feed using them holds customer profiles.
PROFILE_TAGS: tuple[str, ...] = (
    "address",
    "address2",
    "birthdate",
    "city",
    "company",
    "country",
    "create-dt",
    "email",
    "full-name",
    "gender",
    "generational-suffix",
    "given-name",
    "phone",
    "postal",
    "state",
    "surname",
    "title",
    "update-dt",
)
KEY_TAGS: tuple[str, ...] = ("pk", "ck", "fk-", "bk-", "sk-")
ALL_TAGS: tuple[str, ...] = PROFILE_TAGS + KEY_TAGS

# Tags that constrain the field's type.
TAG_TYPES: dict[str, tuple[str, str]] = {
    "birthdate": ("date", "a Date"),
    "phone": ("string", "a String"),
    "postal": ("string", "a String"),
}

# A custom tag: lower-case words joined by hyphens, optionally grouped with "/" (txn-item/…).
TAG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*-?(/[a-z0-9]+(-[a-z0-9]+)*)?$")

_BY_NAME: dict[str, str] = {
    "email": "email",
    "email_address": "email",
    "first_name": "given-name",
    "firstname": "given-name",
    "given_name": "given-name",
    "last_name": "surname",
    "lastname": "surname",
    "surname": "surname",
    "full_name": "full-name",
    "name": "full-name",
    "phone": "phone",
    "phone_number": "phone",
    "mobile": "phone",
    "zip": "postal",
    "zipcode": "postal",
    "zip_code": "postal",
    "postal_code": "postal",
    "postcode": "postal",
    "city": "city",
    "state": "state",
    "country": "country",
    "birthdate": "birthdate",
    "birth_date": "birthdate",
    "birthday": "birthdate",
    "dob": "birthdate",
    "date_of_birth": "birthdate",
    "joindate": "create-dt",
    "join_date": "create-dt",
    "created_at": "create-dt",
    "created": "create-dt",
    "last_modified": "update-dt",
    "updated_at": "update-dt",
    "modified_at": "update-dt",
    "address": "address",
    "address1": "address",
    "street": "address",
    "address2": "address2",
    "company": "company",
    "gender": "gender",
    "title": "title",
    "suffix": "generational-suffix",
}


def normalise(name: str) -> str:
    """`First Name`, `firstName`, `first-name` -> `first_name`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def suggest_tag(name: str, *, is_key: bool = False, namespace: str = "") -> str:
    """The semantic tag a field named ``name`` most likely carries, or ""."""
    key = normalise(name)
    if is_key:
        return "pk"
    if key in _BY_NAME:
        return _BY_NAME[key]
    if key.endswith("_id") and len(key) > 3:
        # A foreign key to another table: fk-<namespace>-<entity>, e.g. fk-heap-user.
        entity = key[:-3].replace("_", "-")
        return f"fk-{namespace}-{entity}" if namespace else f"fk-{entity}"
    return ""


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a usable tag, or None."""
    if not tag or tag in PROFILE_TAGS or tag in ("pk", "ck"):
        return None
    if not TAG_RE.match(tag) or tag.endswith("-"):
        return "tags use lower-case letters, digits and hyphens (e.g. fk-heap-user)"
    return None


def is_profile_tag(tag: str) -> bool:
    return tag in PROFILE_TAGS
