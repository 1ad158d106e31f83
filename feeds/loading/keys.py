"""The "_pk" column computed in Arrow, for loads that COPY straight into a table.

It must equal what merge._pk_expression computes in SQL for the same values (the upsert path
and later loads compare keys as text), so only field types whose Arrow text form is the
Postgres text form are done here: integer ("-5"), string, date ("2024-01-02", years 1-9999),
boolean ("true"/"false"). Other key types (datetime, float, decimal) keep the SQL path.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .spec import PK_SEPARATOR, TableSpec

CLIENT_KEY_TYPES = frozenset({"integer", "string", "date", "boolean"})


def client_pk_supported(spec: TableSpec) -> bool:
    return all(f.type in CLIENT_KEY_TYPES for f in spec.key_fields)


def pk_array(spec: TableSpec, columns: dict[str, pa.Array]) -> pa.Array:
    """The "_pk" text of each row, from the converted key columns (by field name)."""
    parts = []
    compound = len(spec.primary_key) > 1
    for f in spec.key_fields:
        arr = columns[f.name]
        if f.type == "string":
            text = arr.cast(pa.string())
            if compound:  # escape exactly as the SQL path: "\" -> "\\", U+001F -> "\x1f"
                text = pc.replace_substring(text, "\\", "\\\\")
                text = pc.replace_substring(text, PK_SEPARATOR, "\\x1f")
        else:
            text = arr.cast(pa.string())
        parts.append(text)
    if not compound:
        return parts[0]
    return pc.binary_join_element_wise(*parts, PK_SEPARATOR)
