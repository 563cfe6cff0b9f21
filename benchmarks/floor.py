"""The floor: the least work any matrix computation must do. Raw SQL fetch of a product's trace
rows (items, links with their suspect flag, clause links, test results) plus a networkx graph
build, in one process, no ORM objects.

Shared with other benchmarks: ``floor_fetch(product_key)`` → ``FloorRows``, ``floor_graph(rows)``
→ ``nx.MultiDiGraph``, ``floor_run(product_key)`` → (graph, seconds). Needs Django set up (it
uses Django's database connection, so it runs on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import networkx as nx


@dataclass
class FloorRows:
    items: list[tuple[Any, ...]]  # id, key, kind, title, status, revision
    links: list[tuple[Any, ...]]  # source id, target id, link type, suspect (bool)
    clause_links: list[tuple[Any, ...]]  # item id, standard slug, clause number
    results: list[tuple[Any, ...]]  # test case id, run id, status


def floor_fetch(product_key: str) -> FloorRows:
    from django.db import connection

    from standards.models import Clause, Standard
    from traceability.models import ClauseLink, Item, Link, Product, TestResult, TestRun

    item_t, link_t, product_t = Item._meta.db_table, Link._meta.db_table, Product._meta.db_table
    clause_link_t, clause_t, standard_t = ClauseLink._meta.db_table, Clause._meta.db_table, Standard._meta.db_table
    result_t, run_t = TestResult._meta.db_table, TestRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {product_t} WHERE key = %s", [product_key])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no product {product_key!r}")
        product_id = row[0]
        cursor.execute(
            f"SELECT id, key, kind, title, status, revision FROM {item_t} WHERE product_id = %s", [product_id]
        )
        items = cursor.fetchall()
        cursor.execute(
            f"SELECT l.source_id, l.target_id, l.link_type, l.target_fingerprint <> t.fingerprint "
            f"FROM {link_t} l JOIN {item_t} t ON t.id = l.target_id WHERE l.product_id = %s",
            [product_id],
        )
        links = cursor.fetchall()
        cursor.execute(
            f"SELECT cl.item_id, s.slug, c.number FROM {clause_link_t} cl "
            f"JOIN {clause_t} c ON c.id = cl.clause_id JOIN {standard_t} s ON s.id = c.standard_id "
            f"WHERE cl.product_id = %s",
            [product_id],
        )
        clause_links = cursor.fetchall()
        cursor.execute(
            f"SELECT r.test_case_id, r.run_id, r.status FROM {result_t} r JOIN {run_t} u ON u.id = r.run_id "
            f"WHERE u.product_id = %s AND r.test_case_id IS NOT NULL",
            [product_id],
        )
        results = cursor.fetchall()
    return FloorRows(items=items, links=links, clause_links=clause_links, results=results)


def floor_graph(rows: FloorRows) -> nx.MultiDiGraph:
    """Items as nodes (with kind, key, status and their clauses and results), links as typed edges."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(
        (pk, {"key": key, "kind": kind, "title": title, "status": status, "revision": revision})
        for pk, key, kind, title, status, revision in rows.items
    )
    graph.add_edges_from(
        (source, target, link_type, {"suspect": bool(suspect)}) for source, target, link_type, suspect in rows.links
    )
    nodes = graph.nodes
    for item_id, slug, number in rows.clause_links:
        nodes[item_id].setdefault("clauses", []).append(f"{slug}:{number}")
    for test_id, run_id, status in rows.results:
        nodes[test_id].setdefault("results", []).append((run_id, status))
    return graph


def floor_run(product_key: str) -> tuple[nx.MultiDiGraph, float]:
    """Fetch and build; returns the graph and the seconds it took."""
    start = time.perf_counter()
    graph = floor_graph(floor_fetch(product_key))
    return graph, time.perf_counter() - start
