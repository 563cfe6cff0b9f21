"""Bulk writes in as few statements as the database allows.

Django caps a SQLite statement at 999 parameters (the old compile-time default), so inserting
10,000 ten-column rows takes ~100 statements. SQLite 3.32+ allows 32,766 and reports its real
limit; inside :func:`wide_batches` this connection uses it, so batches are bounded by our own
``BATCH`` instead. PostgreSQL is unaffected.
"""

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii as _quoted  # what json.dumps uses for a str
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DateTimeField, Field, JSONField, Model


def _sqlite_variable_limit() -> int:
    """This SQLite's real limit of parameters per statement (Django assumes the old 999)."""
    connection.ensure_connection()
    return max(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 999)


@contextmanager
def wide_batches() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    features = connection.features
    limit = _sqlite_variable_limit()
    shadowed = "max_query_params" in vars(features)
    previous = vars(features).get("max_query_params")
    features.max_query_params = limit
    try:
        yield
    finally:
        if shadowed:
            features.max_query_params = previous
        else:
            del features.max_query_params


def insert_many(
    model: type[Model],
    rows: Sequence[dict[str, Any]] | Sequence[Sequence[Any]],
    *,
    names: Sequence[str] | None = None,
    batch: int = 5000,
) -> int:
    """Insert rows as multi-row INSERTs (``COPY`` on PostgreSQL); no primary keys come back.

    Rows are dicts (attribute name → value, e.g. ``run_id``), or, with ``names``, sequences of
    values in that order (no dict per row for 10,000 results).

    ``bulk_create`` prepares every value of every row through the field API (~100 µs a row);
    10,000 results of a CI run would spend most of the ingestion there. Here only the values that
    need the database's own form (JSON, date-times) go through their field; the rest are passed as
    they are, ``batch`` rows per statement. Database constraints still check every row.
    """
    if not rows:
        return 0
    if names is None:
        names = list(cast(dict[str, Any], rows[0]))
        values: Sequence[Sequence[Any]] = [[row[name] for name in names] for row in cast(list[dict[str, Any]], rows)]
    else:
        values = cast(Sequence[Sequence[Any]], rows)
    fields = [cast(Field, model._meta.get_field(name)) for name in names]
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the per-attribute proxy
    quote = wrapper.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    prepare = [(index, prep) for index, field in enumerate(fields) if (prep := _preparer(field)) is not None]
    if wrapper.vendor == "postgresql":
        _copy_rows(wrapper, model, fields, values, prepare)
        return len(values)
    width = len(fields)
    row_sql = "(" + ", ".join(["?"] * width) + ")"  # the sqlite3 module's own placeholder
    per_statement = max(1, min(batch, _sqlite_variable_limit() // width))
    # The sqlite3 cursor itself, as for COPY on PostgreSQL: while queries are counted (DEBUG,
    # CaptureQueriesContext) Django's debug cursor would quote every parameter into its log, a
    # QUOTE() round trip per 999 values (~0.15 s per 10,000 results spent on measuring).
    wrapper.validate_no_broken_transaction()
    wrapper.ensure_connection()
    table = quote(model._meta.db_table)
    with wrapper.wrap_database_errors:
        cursor = wrapper.connection.cursor()
        try:
            for start in range(0, len(values), per_statement):
                chunk = values[start : start + per_statement]
                params: list[Any] = [value for row in chunk for value in row]
                for index, prep in prepare:
                    for position in range(index, len(params), width):
                        if params[position] is not None:
                            params[position] = prep(params[position], wrapper)
                # Table and column names come from the model (quoted), values are parameters.
                sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"  # noqa: S608
                started = time.monotonic()
                cursor.execute(sql, params)
                if wrapper.queries_logged:  # count it like any other statement
                    wrapper.queries_log.append(
                        {
                            "sql": f"{sql[: sql.index(' VALUES ')]} VALUES … -- {len(chunk)} rows",
                            "time": f"{time.monotonic() - started:.3f}",
                        }
                    )
        finally:
            cursor.close()
    return len(values)


def _json_text(value: Any, wrapper: Any) -> str:
    """``json.dumps(value)``; a list of strings (requirement keys) without the encoder's set-up per call."""
    if type(value) is list:
        try:
            return "[" + ", ".join([_quoted(text) for text in value]) + "]"
        except TypeError:  # not all strings
            pass
    return json.dumps(value)


def _preparer(field: Field) -> Any:
    """How a value reaches the database: as it is (None), or through the field.

    A plain ``JSONField`` (no encoder) is stored as ``json.dumps`` text, what its field API
    produces on SQLite after five calls per value; PostgreSQL reads the same text into ``jsonb``
    (``COPY``) just as it reads the driver's ``Jsonb`` adapter.
    """
    if isinstance(field, JSONField):
        plain = field.encoder is None and type(field).get_db_prep_save is JSONField.get_db_prep_save
        return _json_text if plain else field.get_db_prep_save
    if isinstance(field, DateTimeField):
        return _last_value_kept(field.get_db_prep_save)
    return None


def _last_value_kept(prep: Any) -> Any:
    """``prep`` that reuses its last answer for the same value: the rows of one write mostly share
    one timestamp (the audit events of a run, its results), prepared once instead of per row."""
    last: list[Any] = [None, None]

    def prepared(value: Any, wrapper: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, prep(value, wrapper)
        return last[1]

    return prepared


def _copy_rows(
    wrapper: Any,
    model: type[Model],
    fields: list[Field],
    rows: Sequence[Sequence[Any]],
    prepare: list[tuple[int, Any]],
) -> None:
    """PostgreSQL: one ``COPY … FROM STDIN`` (client-side parameter quoting would cost ~1 s per 10,000 rows)."""
    import psycopg

    quote = wrapper.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
    wrapper.validate_no_broken_transaction()
    wrapper.ensure_connection()
    started = time.monotonic()
    with wrapper.wrap_database_errors, psycopg.Cursor(wrapper.connection) as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            if prepare:
                row = list(row)
                for index, prep in prepare:
                    value = row[index]
                    if value is not None:
                        row[index] = prep(value, wrapper)
            write(row)
    if wrapper.queries_logged:  # count it like any other statement (CaptureQueriesContext, DEBUG)
        wrapper.queries_log.append({"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"})
