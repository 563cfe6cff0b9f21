"""The three ways test results come in: JUnit XML files, JSON results, manual executions.

Each computes the run's digest (the payload and what the run is bound to) and hands the results
to :func:`traceability.services.evidence.runs.run_ingest`.
"""

import hashlib
from typing import Any

from django.contrib.auth.models import User

from qms.canonical import digest_of
from qms.errors import InvalidInput
from qms.models import ApiToken
from traceability.graph.model import without_gc
from traceability.models import Product, TestRunSource
from traceability.services.evidence.inputs import (
    CaseInput,
    RunInput,
    manual_inputs_parse,
    result_inputs_parse,
)
from traceability.services.evidence.junit import junit_parse
from traceability.services.evidence.runs import IngestReport, run_ingest


def _binding(run: RunInput) -> dict[str, str]:
    return {"version": run.version, "commit_sha": run.commit_sha}


@without_gc  # the parsed files and their cases stay alive until stored; no reference cycles
def junit_ingest(
    *,
    product: Product,
    files: list[tuple[str, bytes]],
    run: RunInput,
    actor: User | None,
    token: ApiToken | None = None,
) -> IngestReport:
    """Store the JUnit XML files of one CI job as one run. Every file is parsed before anything is stored."""
    if not files:
        raise InvalidInput("no JUnit XML file given", field="file")
    parsed = [junit_parse(data, source=name) for name, data in files]
    cases: list[CaseInput] = [case for junit in parsed for case in junit.cases]
    if not cases:
        raise InvalidInput(f"{', '.join(name for name, _ in files)}: no <testcase> found", field="file")
    digest = digest_of({"junit": sorted(hashlib.sha256(data).hexdigest() for _, data in files), **_binding(run)})
    starts = [junit.started_at for junit in parsed if junit.started_at]
    ends = [junit.finished_at for junit in parsed if junit.finished_at]
    run = RunInput(
        version=run.version,
        commit_sha=run.commit_sha,
        name=run.name,
        environment=run.environment,
        ci_job_url=run.ci_job_url,
        started_at=run.started_at or (min(starts) if starts else None),
        finished_at=run.finished_at or (max(ends) if ends else None),
    )
    return run_ingest(
        product=product,
        run=run,
        cases=cases,
        source=TestRunSource.JUNIT,
        digest=digest,
        actor=actor,
        token=token,
        flavours=sorted({junit.flavour for junit in parsed}),
    )


def results_record(
    *, product: Product, run: RunInput, results: Any, actor: User | None, token: ApiToken | None = None
) -> IngestReport:
    """Store results posted as JSON (``test_id``, ``status``, ``requirements``, …) as one run."""
    cases = result_inputs_parse(results)
    digest = digest_of({"results": results, **_binding(run), "name": run.name, "environment": run.environment})
    return run_ingest(
        product=product, run=run, cases=cases, source=TestRunSource.API, digest=digest, actor=actor, token=token
    )


def manual_executions_record(
    *, product: Product, run: RunInput, executions: Any, actor: User | None, token: ApiToken | None = None
) -> IngestReport:
    """Store manual test executions (tester, date, result, notes, rationale) as one manual run."""
    tester = (actor.get_full_name() or actor.get_username()) if actor is not None else ""
    cases = manual_inputs_parse(executions, product=product, default_tester=tester)
    digest = digest_of(
        {
            "manual": [
                {
                    "test_case": case.test_case.key if case.test_case else "",
                    "status": case.status,
                    "executed_by": case.executed_by,
                    "executed_at": case.executed_at.isoformat() if case.executed_at else None,
                    "notes": case.message,
                    "rationale": case.rationale,
                    "duration": case.duration,
                }
                for case in cases
            ],
            **_binding(run),
            "environment": run.environment,
        }
    )
    return run_ingest(
        product=product, run=run, cases=cases, source=TestRunSource.MANUAL, digest=digest, actor=actor, token=token
    )
