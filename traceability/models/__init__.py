"""Traceability domain: products, items, links, releases and baselines, test and commit evidence."""

from traceability.models.evidence import (
    Commit,
    CommitLink,
    CommitLinkKind,
    ResultStatus,
    TestResult,
    TestRun,
    TestRunSource,
)
from traceability.models.items import ClauseLink, Item, Link
from traceability.models.products import Product, default_risk_matrix
from traceability.models.releases import Baseline, Release, ReleaseState

__all__ = [
    "Baseline",
    "ClauseLink",
    "Commit",
    "CommitLink",
    "CommitLinkKind",
    "Item",
    "Link",
    "Product",
    "Release",
    "ReleaseState",
    "ResultStatus",
    "TestResult",
    "TestRun",
    "TestRunSource",
    "default_risk_matrix",
]
