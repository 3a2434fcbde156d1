"""Alembic environment of the commitments service: its own MetaData, its own database.

Full-text search objects (PostgreSQL's expression GIN index, SQLite's FTS5 table and its shadow
tables) are created by hand in the migration, outside the MetaData; `include_name` hides them
from autogenerate so `alembic check` compares only what the models declare.
"""

from typing import Any

from commitments.config import Settings
from commitments.models import is_search_object, metadata
from servicekit.migrations import run_migrations


def include_name(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    """Leave the hand-made full-text search objects out of autogenerate's comparison."""
    return not (type_ in ("table", "index") and is_search_object(name))


run_migrations(metadata, Settings().database_url, include_name=include_name)
