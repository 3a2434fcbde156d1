"""Alembic environment of the evidence service: its own MetaData, its own database.

Full-text search objects (PostgreSQL's two expression GIN indexes, SQLite's FTS5 table, its
shadow tables and triggers) are created by hand in the migration, outside the MetaData;
`include_name` hides them from autogenerate so `alembic check` compares only what the models
declare.
"""

from typing import Any

from evidence.config import Settings
from evidence.models import is_search_object, metadata
from servicekit.migrations import run_migrations


def include_name(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    """Leave the hand-made full-text search objects out of autogenerate's comparison."""
    return not (type_ in ("table", "index") and is_search_object(name))


run_migrations(metadata, Settings().database_url, include_name=include_name)
