"""The one exception type readers raise: a message a user can act on."""

from __future__ import annotations


class ReaderError(Exception):
    """A file could not be read.

    The message names the file, the position (``line N``, ``record N`` or ``byte N``) and the
    likely cause, e.g. ``users.csv line 14: expected 5 fields, found 7 (is the delimiter ";"?)``.
    ``name`` and ``position`` are kept separately for callers that want to show them apart.
    """

    def __init__(self, message: str, *, name: str = "", position: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.position = position

    @classmethod
    def at(cls, name: str, position: str, cause: str) -> ReaderError:
        """Build ``"<name> <position>: <cause>"`` (position may be empty)."""
        where = f"{name} {position}" if position else name
        return cls(f"{where}: {cause}", name=name, position=position)
