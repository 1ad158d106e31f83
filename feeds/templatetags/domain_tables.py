"""The Postgres name of a domain table, as an analyst types it in psql."""

import shlex

from django import template
from django.conf import settings

register = template.Library()


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@register.filter
def postgres_name(table_name: str) -> str:
    """``Heap:Users`` → ``domain."Heap:Users"`` (the schema quoted only when it must be)."""
    schema = settings.DOMAIN_SCHEMA
    plain = schema.isidentifier() and schema.islower() and schema.isascii()
    return f"{schema if plain else _quoted(schema)}.{_quoted(table_name)}"


@register.filter
def psql_command(table_name: str) -> str:
    """A shell command that shows the table's first rows (quoted for any table name)."""
    query = f"SELECT * FROM {postgres_name(table_name)} LIMIT 100;"  # noqa: S608 - shown, never run
    return f'psql "$DATABASE_URL" -c {shlex.quote(query)}'
