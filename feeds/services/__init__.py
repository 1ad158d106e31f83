"""Feed services: keyword-only functions that validate, then save (HackSoft style)."""

from .compare import FeedDiff, feed_compare
from .create import feed_copy, feed_create, feed_update_fields
from .errors import FeedError, FeedInvalid, Problem, PurgeRequired
from .indexes import sort_index_request
from .sample import SAMPLE_ROWS, file_columns, sample_preview
from .table import (
    Activation,
    feed_activate,
    feed_delete,
    feed_load_file,
    feed_needs_purge,
    feed_table_spec,
    feed_truncate,
)
from .validation import feed_problems, feed_validate

__all__ = [
    "SAMPLE_ROWS",
    "Activation",
    "FeedDiff",
    "FeedError",
    "FeedInvalid",
    "Problem",
    "PurgeRequired",
    "feed_activate",
    "feed_compare",
    "feed_copy",
    "feed_create",
    "feed_delete",
    "feed_load_file",
    "feed_needs_purge",
    "feed_problems",
    "feed_table_spec",
    "feed_truncate",
    "feed_update_fields",
    "feed_validate",
    "file_columns",
    "sample_preview",
    "sort_index_request",
]
