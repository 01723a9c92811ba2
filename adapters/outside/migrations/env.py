"""Alembic environment: the URL comes from the caller (`beian init` / `adapters.outside.schema.upgrade`)."""

from alembic import context

from adapters.outside.db import Base, make_engine
from adapters.outside.schema import migrating

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection, migrating(connection):
        _run(connection, own_transaction=False)
    engine.dispose()


def _run(connection, own_transaction: bool = True) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    if not own_transaction:  # the caller's transaction (adapters.outside.schema.migrating) holds it
        context.run_migrations()
        return
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
