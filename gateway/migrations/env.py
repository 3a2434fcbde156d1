"""Alembic environment of the gateway: its own MetaData, its own database."""

from gateway.config import Settings
from gateway.models import metadata
from servicekit.migrations import run_migrations

run_migrations(metadata, Settings().database_url)
