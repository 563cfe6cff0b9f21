"""The signed deviations in force for a product, as the trace graph carries them.

Live: one query (the deviations not revoked, each with its signature through correlated
subqueries on the signature's record index). Each is checked against what was signed: the
SHA-256 of its canonical content (``traceability.models.deviations.deviation_content``) must
equal both the stored hash and the hash its signature was applied over, and that signature must
carry its seal (``AUDIT_KEY``); a deviation that fails (edited, or written with a forged signature,
in the database) is loaded ``bound=False`` and never applied. A baseline keeps the bound
deviations in force when it was taken, with their signer, time and hash (``DEVIATION_FIELDS``).
"""

from typing import Any

from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast

from qms.canonical import digest_of
from qms.models import Signature, signature_is_sealed
from traceability.graph.model import DeviationInfo
from traceability.models import Deviation, Product
from traceability.models.deviations import DEVIATION_RECORD_TYPE, deviation_content, iso_utc

DEVIATION_FIELDS = (
    "number",
    "rule",
    "item",
    "severity",
    "rationale",
    "sha256",
    "created_at",
    "signer",
    "printed_name",
    "signed_at",
    "signature_id",
)
# the signature's fields its seal covers (qms.models.signature_content), its id and the seal itself
_SIGNATURE_FIELDS = (
    "id",
    "record_hash",
    "printed_name",
    "signed_at",
    "signer_id",
    "signer_username",
    "meaning",
    "record_type",
    "record_id",
    "record_repr",
    "comment",
    "scope",
    "seal",
)


def deviations_load(product: Product) -> list[DeviationInfo]:
    """The product's deviations not revoked, in number order (one query)."""
    signature = Signature.objects.filter(
        record_type=DEVIATION_RECORD_TYPE, record_id=Cast(OuterRef("pk"), CharField())
    ).order_by("id")
    rows = (
        Deviation.objects.filter(product=product, revocation__isnull=True)
        .annotate(**{f"signature_{name}": Subquery(signature.values(name)[:1]) for name in _SIGNATURE_FIELDS})
        .order_by("number")
        .values_list(
            "number",
            "rule",
            "item_key",
            "severity",
            "rationale",
            "sha256",
            "created_at",
            "created_by__username",
            *(f"signature_{name}" for name in _SIGNATURE_FIELDS),
        )
    )
    deviations = []
    for row in rows:
        number, rule, item, severity, rationale, sha256, created_at, signer, *signed = row
        fields = dict(zip(_SIGNATURE_FIELDS, signed, strict=True))
        signature_id, record_hash, printed_name, signed_at = signed[:4]
        sealed = signature_id is not None and signature_is_sealed(Signature(**fields))
        content = deviation_content(
            product_key=product.key,
            number=number,
            rule=rule,
            item=item,
            severity=severity,
            rationale=rationale,
            created_at=created_at,
            signer=signer,
        )
        deviations.append(
            DeviationInfo(
                number=number,
                rule=rule,
                item=item,
                severity=severity,
                rationale=rationale,
                sha256=sha256,
                created_at=iso_utc(created_at),
                signer=signer,
                printed_name=printed_name or "",
                signed_at=iso_utc(signed_at) if signed_at is not None else "",
                signature_id=signature_id or 0,
                bound=sealed and digest_of(content) == sha256 == record_hash,
            )
        )
    return deviations


def deviation_rows(deviations: list[DeviationInfo]) -> list[dict[str, Any]]:
    """The baseline's rows: the bound deviations, in number order."""
    return [
        {name: getattr(deviation, name) for name in DEVIATION_FIELDS}
        for deviation in sorted(deviations, key=lambda deviation: deviation.number)
        if deviation.bound
    ]


def deviations_from_rows(rows: list[dict[str, Any]]) -> list[DeviationInfo]:
    return [DeviationInfo(**row) for row in rows]
