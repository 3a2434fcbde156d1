"""Alembic environment of the evidence service: its own MetaData, its own database."""

from evidence.config import Settings
from evidence.models import metadata
from servicekit.migrations import run_migrations

run_migrations(metadata, Settings().database_url)
