"""Alembic environment: migrations run on the connection `indexer.db.migrate` hands over (it holds the lock).

Run by hand with `python -m indexer.migrations <alembic args>` (e.g. `revision --autogenerate -m "add x"`); the URL
comes from REGWATCH_STATE_URL / REGWATCH_DATA_DIR like everywhere else.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import indexer.fetch.cache  # noqa: F401 - these modules add their tables to the one MetaData
import indexer.fetch.health  # noqa: F401
from indexer.schema import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
