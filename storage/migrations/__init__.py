"""Alembic migrations for storage (configured in code by storage.db.alembic_config)."""
