"""Alembic's environment for every store: run by `estafeta.migrate` on a connection it opened."""

from alembic import context

config = context.config
context.configure(
    connection=config.attributes["connection"],
    version_table_schema=config.attributes.get("schema"),
    # On PostgreSQL each revision in its own transaction (a failure leaves the ones before it
    # applied); a SQLite upgrade runs in the one transaction `estafeta.migrate` began.
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
