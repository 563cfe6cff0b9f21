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


def immutable_rows_installed(schema_editor: Any, table: str, message: str) -> None:
    """Install (or install again) the row trigger of ``immutable_rows``, idempotently: for
    migrations that lifted it to seal existing rows, or where SQLite rebuilt the table to add a
    NOT NULL column (a rebuild drops the table's triggers)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {table}_immutable() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation'; END; "
            "$$ LANGUAGE plpgsql"
        )
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable()"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {table}_immutable BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def truncate_refused(schema_editor: Any, table: str, message: str) -> None:
    """On PostgreSQL, a statement-level trigger that refuses ``TRUNCATE`` of ``table`` (row triggers
    do not see it). SQLite has no TRUNCATE."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {table}_no_truncate() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation'; END; "
        "$$ LANGUAGE plpgsql"
    )
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_no_truncate()"
    )


def truncate_allowed(schema_editor: Any, table: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_no_truncate()")


def audit_head_maintained(schema_editor: Any) -> None:
    """The chain head follows the audit table: every insert moves it to the newest event and adds
    to its count. On PostgreSQL one statement-level trigger per INSERT or COPY (its rows in a
    transition table), and the head refuses every other update, its deletion and TRUNCATE; on
    SQLite a row trigger."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION qms_auditevent_head_advance() RETURNS trigger AS $$ "
            "BEGIN UPDATE qms_auditchainhead SET "
            "digest = (SELECT digest FROM qms_new_events ORDER BY id DESC LIMIT 1), "
            "count = count + (SELECT count(*) FROM qms_new_events) WHERE id = 1; "
            "RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
        schema_editor.execute("DROP TRIGGER IF EXISTS qms_auditevent_head_advance ON qms_auditevent")
        schema_editor.execute(
            "CREATE TRIGGER qms_auditevent_head_advance AFTER INSERT ON qms_auditevent "
            "REFERENCING NEW TABLE AS qms_new_events FOR EACH STATEMENT "
            "EXECUTE FUNCTION qms_auditevent_head_advance()"
        )
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION qms_auditchainhead_guard() RETURNS trigger AS $$ "
            "BEGIN IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'the audit chain head follows the audit trail; it is never changed directly' "
            "USING ERRCODE = 'restrict_violation'; END; $$ LANGUAGE plpgsql"
        )
        schema_editor.execute("DROP TRIGGER IF EXISTS qms_auditchainhead_guard ON qms_auditchainhead")
        schema_editor.execute(
            "CREATE TRIGGER qms_auditchainhead_guard BEFORE UPDATE OR DELETE ON qms_auditchainhead "
            "FOR EACH ROW EXECUTE FUNCTION qms_auditchainhead_guard()"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS qms_auditevent_head_advance AFTER INSERT ON qms_auditevent "
            "BEGIN UPDATE qms_auditchainhead SET digest = NEW.digest, count = count + 1 WHERE id = 1; END"
        )


def audit_head_released(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS qms_auditevent_head_advance ON qms_auditevent")
        schema_editor.execute("DROP FUNCTION IF EXISTS qms_auditevent_head_advance()")
        schema_editor.execute("DROP TRIGGER IF EXISTS qms_auditchainhead_guard ON qms_auditchainhead")
        schema_editor.execute("DROP FUNCTION IF EXISTS qms_auditchainhead_guard()")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS qms_auditevent_head_advance")
