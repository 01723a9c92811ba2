"""Create or upgrade the database schema with the Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and Mako, which it loads) is imported when a migration runs, not by every command that opens the
# database: it is a sixth of a cold command's start.

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def migrating(connection: Connection) -> Iterator[None]:
    """One transaction for migrations on `connection` (not yet in a transaction).

    Alembic rebuilds a SQLite table (copy, drop, rename) to alter it; with foreign keys enforced, dropping a table
    that other rows point to fails. SQLite ignores the pragma inside a transaction, so it is set on the raw
    connection before the migration's transaction begins, and every key is checked before commit."""
    sqlite = connection.dialect.name == "sqlite"
    raw: Any = connection.connection.dbapi_connection
    if sqlite:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            yield
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine) -> None:
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection, migrating(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    from adapters.outside.db import forget_stored_state_values

    forget_stored_state_values(engine)
