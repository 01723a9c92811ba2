"""Moving a test database to an older schema revision, as an administrator would with Alembic."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from adapters.outside.schema import alembic_config, migrating
from workflows.service import Beian


def downgrade(url: str, revision: str) -> set[str]:
    """Downgrade the database at `url` to `revision`; the tables it has afterwards."""
    app = Beian(url)
    try:
        config = alembic_config(url)
        with app.engine.connect() as connection, migrating(connection):
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
        return set(inspect(app.engine).get_table_names())
    finally:
        app.close()
