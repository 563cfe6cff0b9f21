"""The record check of electronic signatures, run by ``audit_verify``."""

from collections.abc import Iterator

from qms.integrity.records import RecordProblem, Witnessed, record_check
from qms.models import Signature, signature_is_sealed

APPLIED = "signature.applied"


@record_check("signatures", witnesses=(APPLIED,))
def signatures_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """Every signature carries a valid seal and has its ``signature.applied`` event, and every
    such event names a signature that is still there."""
    applied = witnessed.get(APPLIED, set())
    present: set[str] = set()
    for signature in Signature.objects.order_by("id").iterator(chunk_size=2000):
        name = f"signature #{signature.pk} ({signature.printed_name}, {signature.meaning}, {signature.record_repr})"
        present.add(str(signature.pk))
        if not signature_is_sealed(signature):
            yield RecordProblem(
                name, "its seal does not match its content (written or altered outside the application)"
            )
        if str(signature.pk) not in applied:
            yield RecordProblem(name, "the audit trail has no signature.applied event for it")
    for missing in sorted(applied - present, key=int):
        yield RecordProblem(f"signature #{missing}", "the audit trail records it, but it is gone from the database")
