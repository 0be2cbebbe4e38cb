"""Alembic environment, run programmatically by incidents.db (no alembic.ini needed).

The caller hands an open connection in `config.attributes["connection"]`, so migrations run inside
the caller's engine (and, on PostgreSQL, inside the schema its search_path names).
"""

from __future__ import annotations

from alembic import context

from incidents.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always set by incidents.db
    raise RuntimeError("incidents migrations must be run through incidents.db.upgrade/downgrade")

# render_as_batch: SQLite cannot ALTER most things; batch mode lets later migrations change columns.
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
