"""What feed services raise; every message names the feed, field or file concerned."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a feed cannot be activated; ``field`` is the field's row (None: the feed)."""

    message: str
    field: str | None = None  # the incoming name of the field row concerned

    def __str__(self) -> str:
        return self.message


class FeedError(Exception):
    """A feed operation failed for a reason the user can act on."""


class FeedInvalid(FeedError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class PurgeRequired(FeedError):
    """The primary key of an active feed changed: the table must be purged (confirm first)."""
