"""Thin views of the feeds pages; each parses input, calls one service, renders or redirects."""

from .actions import feed_copy_view, feed_delete_view, feed_load, feed_truncate_view
from .add import feed_add
from .editor import feed_edit
from .explorer import explorer_index, explorer_table, sort_index_status

__all__ = [
    "explorer_index",
    "explorer_table",
    "feed_add",
    "feed_copy_view",
    "feed_delete_view",
    "feed_edit",
    "feed_load",
    "feed_truncate_view",
    "sort_index_status",
]
