"""Traceability domain: products, items, links, releases and baselines, test and commit evidence."""

from traceability.models.artifacts import Artifact, ArtifactKind
from traceability.models.deviations import Deviation, DeviationRevocation, DeviationSeverity
from traceability.models.evidence import (
    Commit,
    CommitLink,
    CommitLinkKind,
    ManualExecution,
    ResultStatus,
    TestResult,
    TestRun,
    TestRunSource,
    WebhookSecret,
)
from traceability.models.items import ClauseLink, Item, Link
from traceability.models.products import Product, default_risk_matrix
from traceability.models.releases import Baseline, Release, ReleaseApproval, ReleaseState
from traceability.models.reports import ReportFormat, ReportState, TraceReport

__all__ = [
    "Artifact",
    "ArtifactKind",
    "Baseline",
    "ClauseLink",
    "Commit",
    "CommitLink",
    "CommitLinkKind",
    "Deviation",
    "DeviationRevocation",
    "DeviationSeverity",
    "Item",
    "Link",
    "ManualExecution",
    "Product",
    "Release",
    "ReleaseApproval",
    "ReleaseState",
    "ReportFormat",
    "ReportState",
    "ResultStatus",
    "TestResult",
    "TestRun",
    "TestRunSource",
    "TraceReport",
    "WebhookSecret",
    "default_risk_matrix",
]
