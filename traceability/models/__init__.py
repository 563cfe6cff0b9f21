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
from traceability.models.pull_requests import (
    PullRequest,
    PullRequestLink,
    PullRequestProvider,
    PullRequestReview,
    PullRequestState,
    ReviewState,
)
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
    "PullRequest",
    "PullRequestLink",
    "PullRequestProvider",
    "PullRequestReview",
    "PullRequestState",
    "Release",
    "ReleaseApproval",
    "ReleaseState",
    "ReportFormat",
    "ReportState",
    "ResultStatus",
    "ReviewState",
    "TestResult",
    "TestRun",
    "TestRunSource",
    "TraceReport",
    "WebhookSecret",
    "default_risk_matrix",
]
