"""Developer evidence: test runs and results (JUnit XML, JSON, manual executions), commits, webhooks.

Public entry points:

- ``junit_ingest``, ``results_record``, ``manual_executions_record`` (→ ``IngestReport``)
- ``run_input_clean`` (validate the version / commit SHA a run is bound to)
- ``commit_inputs_parse``, ``commits_ingest`` (→ ``CommitBatchReport``)
- ``webhook_secret_rotate``, ``github_signature_verify``, ``gitlab_token_verify``,
  ``github_push_commits``, ``gitlab_push_commits``
- ``artifact_register`` (→ ``ArtifactRegistration``): what CI built, by digest
- ``github_pull_request_parse``, ``gitlab_merge_request_parse``, ``pull_request_record``
  (→ ``PullRequestReport``): pull and merge requests and their reviews
- ``junit_parse`` (reading only, no database)
"""

from traceability.services.evidence.artifacts import ArtifactRegistration, artifact_register
from traceability.services.evidence.commits import CommitBatchReport, CommitInput, commit_inputs_parse, commits_ingest
from traceability.services.evidence.inputs import CaseInput, RunInput, run_input_clean
from traceability.services.evidence.junit import JunitFile, junit_parse
from traceability.services.evidence.pull_request_payloads import (
    PullRequestInput,
    github_pull_request_parse,
    gitlab_merge_request_parse,
)
from traceability.services.evidence.pull_requests import PullRequestReport, pull_request_record
from traceability.services.evidence.runs import IngestReport, run_counts, run_ingest
from traceability.services.evidence.sources import junit_ingest, manual_executions_record, results_record
from traceability.services.evidence.webhooks import (
    github_push_commits,
    github_signature_verify,
    gitlab_push_commits,
    gitlab_token_verify,
    webhook_payload,
    webhook_secret_rotate,
)

__all__ = [
    "ArtifactRegistration",
    "CaseInput",
    "CommitBatchReport",
    "CommitInput",
    "IngestReport",
    "JunitFile",
    "PullRequestInput",
    "PullRequestReport",
    "RunInput",
    "artifact_register",
    "commit_inputs_parse",
    "commits_ingest",
    "github_pull_request_parse",
    "github_push_commits",
    "github_signature_verify",
    "gitlab_merge_request_parse",
    "gitlab_push_commits",
    "gitlab_token_verify",
    "junit_ingest",
    "junit_parse",
    "manual_executions_record",
    "pull_request_record",
    "results_record",
    "run_counts",
    "run_ingest",
    "run_input_clean",
    "webhook_payload",
    "webhook_secret_rotate",
]
