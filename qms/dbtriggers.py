"""Database triggers that make records immutable, for migrations.

The models refuse to change these rows too; the triggers hold even for code that bypasses the
models (a queryset ``update``, raw SQL). On SQLite only updates are refused, so that the test
database can still be flushed between tests; on PostgreSQL deletes are refused as well.
"""

from typing import Any

from django.db import migrations


def immutable_rows(table: str, message: str) -> migrations.RunPython:
    """A migration operation installing a trigger that refuses to change rows of ``table``."""

    def install(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE OR REPLACE FUNCTION {table}_immutable() RETURNS trigger AS $$ "
                f"BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation'; END; "
                "$$ LANGUAGE plpgsql"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable()"
            )
        elif vendor == "sqlite":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )

    def remove(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_immutable()")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable")

    return migrations.RunPython(install, remove)


def immutable_rows_dropped(connection: Any, table: str) -> None:
    """Drop the trigger inside the current transaction: for tests that play an attacker."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable")
