"""What a corpus case is: the objects put in S3, how the courier reads them, the feed, the good
file loaded first, and the outcome a user must see."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# A body is bytes, or made when the case runs (big or key-dependent bodies): f(where) -> bytes.
Body = bytes | Callable[["Where"], bytes]


@dataclass(frozen=True)
class Where:
    """Where the case's objects live: bucket and the courier's prefix (the case's folder)."""

    bucket: str
    prefix: str  # "corpus/<case id>/"

    def key(self, relative: str) -> str:
        """A key in the case's folder; "/other/x" names a key outside it (leading / dropped)."""
        return relative[1:] if relative.startswith("/") else self.prefix + relative

    def url(self, relative: str) -> str:
        return f"s3://{self.bucket}/{self.key(relative)}"


@dataclass(frozen=True)
class F:
    """A feed field: resulting name, type, required, decimal precision/scale, incoming name."""

    name: str
    type: str = "string"
    required: bool = False
    precision: int | None = None
    scale: int | None = None
    incoming: str | None = None

    @property
    def source(self) -> str:
        return self.incoming or self.name


@dataclass(frozen=True)
class Obj:
    key: str  # relative to the case's folder (see Where.key)
    body: Body


# ------------------------------------------------------------------ outcomes
@dataclass(frozen=True)
class Loads:
    """The run succeeds and the table holds the good rows upserted with ``rows`` (by key; a
    column a row lacks keeps its stored value). ``replaces``: the table holds exactly ``rows``."""

    rows: list[dict[str, Any]]
    replaces: bool = False


@dataclass(frozen=True)
class PartlyLoads:
    """Good rows are upserted; each bad row is listed in the run's rejects as (row, field),
    row counted from 1 among the file's data rows (header rows not counted)."""

    rows: list[dict[str, Any]]
    rejected: list[tuple[int, str]]


@dataclass(frozen=True)
class Refused:
    """The run fails with a message holding every ``place`` fragment and one of ``any_of``
    (case-insensitive); the table is exactly as the good load left it. ``file_level``: the
    problem is in the file itself, so the review page (which knows no feed) refuses it too,
    and the message names the file."""

    place: list[str]
    any_of: list[str] = field(default_factory=list)
    file_level: bool = True


@dataclass(frozen=True)
class NothingToLoad:
    """No rows: the table is exactly as the good load left it, and the run does not crash
    (it may succeed, or fail with a message naming the file)."""


Outcome = Loads | PartlyLoads | Refused | NothingToLoad
Review = Literal["auto", "shows", "refuses", "any"]


@dataclass
class Case:
    id: str
    area: str  # who must make it pass: text, json, avro, parquet, compression, archive, ...
    key: str  # the hostile object (relative to the case's folder), reviewed and run
    expect: Outcome
    fields: list[F]
    good_key: str
    good_land_as: dict[str, Any]
    good_rows: list[dict[str, Any]]
    objects: list[Obj]  # hostile objects, uploaded after the good load
    good_objects: list[Obj]  # uploaded before it
    land_as: dict[str, Any] = field(default_factory=dict)
    member: str = ""  # archive: the member name or wildcard the entity asks for
    review_member: str = ""  # archive: the member the review page is asked to show
    pgp: str | None = None  # the courier's PGP key (builders.pgp().keys)
    primary_key: list[str] = field(default_factory=lambda: ["id"])
    error_threshold: float = 1.0
    review: Review = "auto"
    review_shows: list[str] | None = None  # text the review page must show (default: strings)
    review_settings: dict[str, Any] | None = None  # settings chosen on the review page
    heap: bool = False  # a Heap courier (manifests) instead of an entities list

    @property
    def review_mode(self) -> Review:
        if self.review != "auto":
            return self.review
        if isinstance(self.expect, Loads | PartlyLoads):
            return "shows"
        if isinstance(self.expect, Refused) and self.expect.file_level:
            return "refuses"
        return "any"

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.key)

    def place(self) -> list[str]:
        """The fragments a refusal must hold (the file's name first, for file problems)."""
        assert isinstance(self.expect, Refused)
        extra = [self.file_name] if self.expect.file_level and not self.heap else []
        return extra + list(self.expect.place)

    def shown_values(self) -> list[str]:
        if self.review_shows is not None:
            return self.review_shows
        if not isinstance(self.expect, Loads | PartlyLoads) or not self.expect.rows:
            return []
        first = self.expect.rows[0]
        return [
            v for v in first.values()
            if isinstance(v, str) and v and len(v) <= 80 and v == v.strip() and "\n" not in v
        ]  # fmt: skip
