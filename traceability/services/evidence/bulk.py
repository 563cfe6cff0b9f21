"""Bulk writes in as few statements as the database allows.

Django caps a SQLite statement at 999 parameters (the old compile-time default), so inserting
10,000 ten-column rows takes ~100 statements. SQLite 3.32+ allows 32,766 and reports its real
limit; inside :func:`wide_batches` this connection uses it, so batches are bounded by our own
``BATCH`` instead. PostgreSQL is unaffected.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


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
