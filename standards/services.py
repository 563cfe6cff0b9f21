"""Writes of the standards catalogue."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qms.services import AuditEntry, audit_entry_for, audit_record_many
from standards.catalogue import Catalogue, ClauseRow, StandardSpec, catalogue_read
from standards.models import Clause, ClauseMapping, Standard

CATALOGUE_SCOPE = "catalogue"
STANDARD_FIELDS = ("code", "edition", "title", "kind", "uses_safety_classes", "notes", "source_file")
CLAUSE_FIELDS = (
    "title",
    "position",
    "depth",
    "is_heading",
    "is_active",
    "applies_to_class_a",
    "applies_to_class_b",
    "applies_to_class_c",
    "notes",
    "parent_id",
)


@dataclass
class LoadReport:
    standards_created: int = 0
    standards_updated: int = 0
    clauses_created: int = 0
    clauses_updated: int = 0
    clauses_retired: int = 0
    mappings_created: int = 0
    mappings_updated: int = 0
    mappings_removed: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.standards_created,
                self.standards_updated,
                self.clauses_created,
                self.clauses_updated,
                self.clauses_retired,
                self.mappings_created,
                self.mappings_updated,
                self.mappings_removed,
            )
        )


def _clause_values(row: ClauseRow) -> dict[str, Any]:
    return {
        "title": row.title,
        "position": row.position,
        "depth": row.depth,
        "is_heading": row.is_heading,
        "is_active": True,
        "applies_to_class_a": "A" in row.classes,
        "applies_to_class_b": "B" in row.classes,
        "applies_to_class_c": "C" in row.classes,
        "notes": row.notes,
    }


def _sync_standard(spec: StandardSpec, report: LoadReport, entries: list[AuditEntry]) -> Standard:
    values = {name: getattr(spec, name) for name in STANDARD_FIELDS}
    standard = Standard.objects.filter(slug=spec.slug).first()
    created = standard is None
    before: dict[str, Any] | None = None
    if standard is None:
        standard = Standard(slug=spec.slug, **values)
        standard.full_clean()
        standard.save()
        report.standards_created += 1
    else:
        before = {name: getattr(standard, name) for name in STANDARD_FIELDS}
        if before != values:
            for name, value in values.items():
                setattr(standard, name, value)
            standard.updated_at = timezone.now()
            standard.full_clean()
            standard.save()

    existing = {clause.number: clause for clause in Clause.objects.filter(standard=standard)}
    new_clauses = [
        Clause(standard=standard, number=row.number, **_clause_values(row))
        for row in spec.clauses
        if row.number not in existing
    ]
    Clause.objects.bulk_create(new_clauses)
    by_number = {**existing, **{clause.number: clause for clause in new_clauses}}

    changed: list[Clause] = []
    changed_numbers: list[str] = []
    for row in spec.clauses:
        clause = by_number[row.number]
        wanted = _clause_values(row)
        wanted["parent_id"] = by_number[row.parent_number].pk if row.parent_number else None
        if any(getattr(clause, name) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(clause, name, value)
            changed.append(clause)
            if row.number in existing:
                changed_numbers.append(row.number)
    in_file = {row.number for row in spec.clauses}
    retired = [c for n, c in existing.items() if n not in in_file and c.is_active]
    for clause in retired:
        clause.is_active = False
    Clause.objects.bulk_update(changed + retired, CLAUSE_FIELDS)

    report.clauses_created += len(new_clauses)
    report.clauses_updated += len(changed_numbers)
    report.clauses_retired += len(retired)
    if retired:
        report.messages.append(
            f"{spec.slug}: {len(retired)} clause(s) no longer in {spec.source_file} were retired "
            f"(kept for existing links): {', '.join(sorted(c.number for c in retired))}"
        )
    if created:
        entries.append(
            audit_entry_for(
                standard,
                action="standard.created",
                scope=CATALOGUE_SCOPE,
                object_repr=str(standard),
                after={**values, "clauses": len(spec.clauses)},
            )
        )
    elif before != values or new_clauses or changed_numbers or retired:
        report.standards_updated += 1
        entries.append(
            audit_entry_for(
                standard,
                action="standard.updated",
                scope=CATALOGUE_SCOPE,
                object_repr=str(standard),
                before=before,
                after={
                    **values,
                    "clauses_added": sorted(c.number for c in new_clauses),
                    "clauses_changed": sorted(changed_numbers),
                    "clauses_retired": sorted(c.number for c in retired),
                },
            )
        )
    return standard


def _sync_mappings(catalogue: Catalogue, report: LoadReport, entries: list[AuditEntry]) -> None:
    clause_ids = {
        (slug, number): pk for slug, number, pk in Clause.objects.values_list("standard__slug", "number", "pk")
    }
    wanted: dict[tuple[int, int, str], str] = {}
    for spec in catalogue.mappings:
        for target in spec.targets:
            wanted[(clause_ids[spec.source], clause_ids[target], spec.kind)] = spec.notes
    existing = {(m.source_id, m.target_id, m.kind): m for m in ClauseMapping.objects.all()}
    to_create = []
    to_update = []
    for key, notes in wanted.items():
        mapping = existing.get(key)
        if mapping is None:
            to_create.append(
                ClauseMapping(source_id=key[0], target_id=key[1], kind=key[2], notes=notes, is_from_catalogue=True)
            )
        elif mapping.notes != notes or not mapping.is_from_catalogue:
            mapping.notes = notes
            mapping.is_from_catalogue = True
            to_update.append(mapping)
    stale = [m for key, m in existing.items() if m.is_from_catalogue and key not in wanted]
    ClauseMapping.objects.bulk_create(to_create)
    ClauseMapping.objects.bulk_update(to_update, ["notes", "is_from_catalogue"])
    ClauseMapping.objects.filter(pk__in=[m.pk for m in stale]).delete()
    report.mappings_created += len(to_create)
    report.mappings_updated += len(to_update)
    report.mappings_removed += len(stale)
    if to_create or to_update or stale:
        entries.append(
            AuditEntry(
                action="mappings.synced",
                object_type="standards.clausemapping",
                object_id="*",
                object_repr="cross-standard mappings",
                scope=CATALOGUE_SCOPE,
                after={"created": len(to_create), "updated": len(to_update), "removed": len(stale)},
            )
        )


@transaction.atomic
def catalogue_load(*, directory: Path, actor: User | None) -> LoadReport:
    """Load the catalogue files idempotently: a second run with the same files changes nothing.

    The whole catalogue is validated before anything is written, and written in one transaction.
    Clauses are matched by number, so an edited title updates the clause in place and every
    link to it survives; a clause removed from its file is retired, not deleted.
    """
    catalogue = catalogue_read(directory)
    report = LoadReport()
    entries: list[AuditEntry] = []
    for spec in catalogue.standards:
        _sync_standard(spec, report, entries)
    _sync_mappings(catalogue, report, entries)
    audit_record_many(actor=actor, entries=entries)
    return report
