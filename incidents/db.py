"""Where the incident database lives and how its schema is brought up to date.

Resolution order: an explicit `--db` (a path or a URL), then `POSTMORTEM_DB` (read by the CLI's settings
and passed in as `db` when there is no `--db`), then one SQLite file
in the user data folder (platformdirs). `postgresql://` URLs are routed to psycopg 3.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def default_path() -> Path:
    return Path(user_data_dir("postmortem-lead", appauthor=False)) / "incidents.sqlite"


def resolve_url(db: str | None = None) -> str:
    """A SQLAlchemy URL from `db` (`--db`, else POSTMORTEM_DB), or the default file."""
    value = db or str(default_path())
    if "://" not in value:  # a file path
        path = Path(value).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):  # the bare scheme would pick psycopg2, which is not installed
            return "postgresql+psycopg://" + value[len(prefix):]
    return value


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Cascading deletes need foreign keys on; WAL lets `similar` read while an import writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _config(connection) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def open_db(db: str | None = None, migrate: bool = True) -> sessionmaker[Session]:
    """A session factory on the resolved database, migrated to head unless told otherwise."""
    engine = make_engine(resolve_url(db))
    if migrate and current_revision(engine) != head_revision():
        upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)
