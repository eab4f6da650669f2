"""Alembic's entry point: migrations run on the connection ``assistant.database`` passes in.

There is no alembic.ini and no offline (SQL script) mode: ``assistant db migrate`` and the
first use of a database run them, each inside one transaction that holds the migration lock.
"""

from alembic import context

connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
context.configure(connection=connection, render_as_batch=True, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
