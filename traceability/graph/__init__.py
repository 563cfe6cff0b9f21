"""The trace engine: the product's trace graph in memory, and what is computed from it.

Modules (see docs/traceability.md, "Engine API"):

- ``model``: ``TraceGraph`` and its records (items, links, results, commits, clauses)
- ``load``: building a graph from the live database or a baseline; baseline serialisation
- ``verification``: the verification status of an item (``Verifier``), its tests and results
- ``matrix``: matrix rows and the reverse matrix
- ``risk``: the risk trace (hazard → … → verification) with initial and residual risk
- ``gaps``: the gap rules' checks, findings and the gap report
- ``summary``: ``Matrix`` with coverage figures; ``matrix_build``
- ``walks``: upstream, downstream, change impact, orphans, cycles (networkx)
- ``diff``: the change record between two graphs
- ``selectors``: the same questions asked of the database for a product and release
"""
