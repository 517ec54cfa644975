"""Alembic migrations of the state store. `indexer.db.get_engine` runs `upgrade head` on start (see env.py)."""
