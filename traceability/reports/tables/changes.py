"""The changes since the previous release (the baseline diff) as one table."""

from traceability.reports.content import ReportContent
from traceability.reports.tables.model import Column, ExportTable


def changes_table(content: ReportContent) -> ExportTable:
    """The baseline diff against the previous release, one change per row (none for a first release)."""
    table = ExportTable(
        "changes",
        "Changes",
        [
            Column("Change", 16),
            Column("Key", 14),
            Column("Kind", 20),
            Column("Title", 40),
            Column("Target", 30),
            Column("Fields", 24),
            Column("Before", 16),
            Column("After", 16),
        ],
        status_column=0,
    )
    diff = content.diff
    if diff is None:
        return table
    rows = table.rows
    for change, refs in (("item added", diff.items_added), ("item removed", diff.items_removed)):
        rows += [[change, ref.key, ref.kind, ref.title, "", "", "", ""] for ref in refs]
    for item in diff.items_changed:
        revisions = (
            f"rev. {item.revision_before} {item.status_before}",
            f"rev. {item.revision_after} {item.status_after}",
        )
        rows.append(["item changed", item.key, item.kind, item.title, "", ", ".join(item.fields), *revisions])
    for change, links in (("link added", diff.links_added), ("link removed", diff.links_removed)):
        for link in links:
            source, link_type, target = [*link.split(" ", 2), "", ""][:3]
            rows.append([change, source, link_type, "", target, "", "", ""])
    for change, entries in (
        ("evidence added", diff.clause_links_added),
        ("evidence removed", diff.clause_links_removed),
    ):
        for entry in entries:
            item_key, _, clause = entry.partition(" → ")
            rows.append([change, item_key, "clause evidence", "", clause, "", "", ""])
    for result in diff.results_changed:
        before, after = result.before or "no result", result.after or "no result"
        rows.append(["result changed", result.test_case, "test result", "", "", "", before, after])
    return table
