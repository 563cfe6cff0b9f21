"""Bulk writes in as few statements as the database allows.

Django caps a SQLite statement at 999 parameters (the old compile-time default), so inserting
10,000 ten-column rows takes ~100 statements. SQLite 3.32+ allows 32,766 and reports its real
limit; inside :func:`wide_batches` this connection uses it, so batches are bounded by our own
``BATCH`` instead. PostgreSQL is unaffected.
"""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DateTimeField, Field, JSONField, Model


@contextmanager
def wide_batches() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    features = connection.features
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    shadowed = "max_query_params" in vars(features)
    previous = vars(features).get("max_query_params")
    features.max_query_params = max(limit, 999)
    try:
        yield
    finally:
        if shadowed:
            features.max_query_params = previous
        else:
            del features.max_query_params


def insert_many(model: type[Model], rows: list[dict[str, Any]], *, batch: int = 5000) -> int:
    """Insert rows (attribute name → value, e.g. ``run_id``) as multi-row INSERTs; no primary keys come back.

    ``bulk_create`` prepares every value of every row through the field API (~100 µs a row);
    10,000 results of a CI run would spend most of the ingestion there. Here only the values that
    need the database's own form (JSON, date-times) go through their field; the rest are passed as
    they are, ``batch`` rows per statement. Database constraints still check every row.
    """
    if not rows:
        return 0
    names = list(rows[0])
    fields = [cast(Field, model._meta.get_field(name)) for name in names]
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the per-attribute proxy
    quote = wrapper.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    prepare = [field.get_db_prep_save if isinstance(field, JSONField | DateTimeField) else None for field in fields]
    if wrapper.vendor == "postgresql":
        _copy_rows(wrapper, model, fields, [[row[name] for name in names] for row in rows], prepare)
        return len(rows)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with wide_batches():
        limit = wrapper.features.max_query_params or 65_535  # PostgreSQL: 65,535 parameters a statement
    per_statement = max(1, min(batch, limit // len(fields)))
    with wrapper.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = [row[name] for row in chunk for name in names]
            for index, prep in enumerate(prepare):
                if prep is not None:
                    for position in range(index, len(params), len(names)):
                        if params[position] is not None:
                            params[position] = prep(params[position], wrapper)
            # Table and column names come from the model (quoted), values are parameters.
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"  # noqa: S608
            cursor.execute(sql, params)
    return len(rows)


def _copy_rows(
    wrapper: Any, model: type[Model], fields: list[Field], rows: list[list[Any]], prepare: list[Any]
) -> None:
    """PostgreSQL: one ``COPY … FROM STDIN`` (client-side parameter quoting would cost ~1 s per 10,000 rows)."""
    import psycopg

    quote = wrapper.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
    wrapper.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(wrapper.connection) as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if prep is None or value is None else prep(value, wrapper)
                    for prep, value in zip(prepare, row, strict=True)
                ]
            )
    if wrapper.queries_logged:  # count it like any other statement (CaptureQueriesContext, DEBUG)
        wrapper.queries_log.append({"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"})
