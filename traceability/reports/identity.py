"""What the bytes of a stored trace report depend on.

``ReportIdentity`` names everything besides the layout version: the baseline hash, the release
state, the previous baseline and the signatures. Its ``key`` is what a stored report is filed
under, so a report regenerated after a signature or a state change is a new document revision,
never a silently different copy.
"""

from dataclasses import dataclass
from typing import Any

from qms.canonical import digest_of
from qms.models import SignatureMeaning

# Bump when the layout of the PDF or the exports changes: stored reports are filed under it, so
# a new layout gives a new revision and the old files stay as they were issued.
LAYOUT_VERSION = "3"

APPROVAL_MEANINGS = frozenset({SignatureMeaning.APPROVAL.value, SignatureMeaning.RESPONSIBILITY.value})
MEANING_LABELS = {value: str(label) for value, label in SignatureMeaning.choices}


def utc_text(moment: str | None) -> str:
    """``2026-03-03T12:00:00.123456Z`` → ``2026-03-03 12:00:00 UTC`` (seconds precision)."""
    if not moment:
        return "–"
    return f"{moment[:10]} {moment[11:19]} UTC"


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    """One electronic signature over the baseline, as 21 CFR 11.50 wants it shown."""

    id: int
    printed_name: str
    username: str
    signed_at: str  # ISO 8601 UTC
    meaning: str
    comment: str
    record_hash: str

    @property
    def meaning_label(self) -> str:
        return MEANING_LABELS.get(self.meaning, self.meaning)

    @property
    def approves(self) -> bool:
        return self.meaning in APPROVAL_MEANINGS

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "printed_name": self.printed_name,
            "username": self.username,
            "signed_at": self.signed_at,
            "meaning": self.meaning,
            "comment": self.comment,
            "record_hash": self.record_hash,
        }


@dataclass(frozen=True)
class ReportIdentity:
    """What a stored report of a frozen release depends on."""

    product: str
    version: str
    baseline_sha256: str
    release_state: str
    withdrawn_reason: str
    previous_version: str  # "" for a first release
    previous_sha256: str
    signatures: tuple[SignatureEntry, ...]

    @property
    def signatures_digest(self) -> str:
        return digest_of([signature.as_dict() for signature in self.signatures])

    def key(self, report_format: str) -> str:
        return digest_of(
            {
                "layout": LAYOUT_VERSION,
                "format": report_format,
                "product": self.product,
                "version": self.version,
                "baseline_sha256": self.baseline_sha256,
                "release_state": self.release_state,
                "withdrawn_reason": self.withdrawn_reason,
                "previous_version": self.previous_version,
                "previous_sha256": self.previous_sha256,
                "signatures": [signature.as_dict() for signature in self.signatures],
            }
        )
