"""Alembic revisions, shipped in the wheel as ``followup.migrations``."""
