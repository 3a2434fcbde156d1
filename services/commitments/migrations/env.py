"""Alembic environment of the commitments service: its own MetaData, its own database."""

from commitments.config import Settings
from commitments.models import metadata
from servicekit.migrations import run_migrations

run_migrations(metadata, Settings().database_url)
