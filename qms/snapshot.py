"""Consistent reads: the queries behind one answer see the database at one moment.

In autocommit, and under PostgreSQL's READ COMMITTED inside a transaction, every statement sees
what was committed when *it* started. An answer built from several queries (the trace graph's
items, links and results; a release's state, baseline and signatures) can then mix moments: a
result whose test case was created after the items were read, a link to an item that is not in
the graph. ``read_snapshot`` runs them in one transaction that sees one moment:

- PostgreSQL: ``REPEATABLE READ, READ ONLY``. It takes no lock, never waits for writers nor holds
  them back, and never fails with a serialization error (a read-only transaction has nothing to
  roll back);
- SQLite: one read transaction (``BEGIN`` … ``COMMIT``): one snapshot in WAL mode; otherwise its
  shared lock holds a writer's commit back until the reads are done.

Use it as a context manager or a decorator around a selector. Nested in another snapshot it joins
it. Inside a transaction that is already open (``transaction.atomic``) the isolation level can no
longer be chosen: the reads join that transaction and its owner answers for its consistency
(``release_freeze`` locks the trace tables in SHARE mode before it reads them; the report service
holds the release row, which every signature and state change locks too).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def read_snapshot(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """One consistent, read-only moment for the reads inside (see the module documentation)."""
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
