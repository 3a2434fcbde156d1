"""Alembic environment of the ratings service: its own MetaData, its own database."""

from ratings.config import Settings
from ratings.models import metadata
from servicekit.migrations import run_migrations

run_migrations(metadata, Settings().database_url)
