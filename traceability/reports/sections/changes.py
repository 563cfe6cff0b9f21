"""Changes since the previous release: the engine's baseline diff."""

from reportlab.lib.colors import Color
from reportlab.platypus import Flowable

from traceability.graph.diff import BaselineDiff
from traceability.reports.content import ReportContent
from traceability.reports.grid import GridRows
from traceability.reports.layout import Outline, block, note, small_table
from traceability.reports.sections.common import muted, spec
from traceability.reports.styles import AMBER, GREEN, MUTED, RED
from traceability.reports.text import FONT_BOLD

ITEM_COLUMNS = (("Key", 70), ("Kind", 120), ("Title", 582))
CHANGED_COLUMNS = (("Key", 70), ("Title", 330), ("What changed", 150), ("Revision", 90), ("Status", 132))
LINK_COLUMNS = (("Source", 110), ("Link", 120), ("Target", 110), ("", 432))
CLAUSE_LINK_COLUMNS = (("Item", 110), ("Clause", 662))
RESULT_COLUMNS = (("Test", 110), ("Before", 200), ("After", 462))


def _counts(diff: BaselineDiff) -> list[tuple[str, str]]:
    counts = diff.counts()
    return [
        ("Items added", str(counts["items_added"])),
        ("Items removed", str(counts["items_removed"])),
        ("Items changed", str(counts["items_changed"])),
        ("Links added / removed", f"{counts['links_added']} / {counts['links_removed']}"),
        ("Clause evidence added / removed", f"{counts['clause_links_added']} / {counts['clause_links_removed']}"),
        ("Test results changed", str(counts["results_changed"])),
    ]


def _links(outline: Outline, title: str, links: list[str], colour: Color) -> list[Flowable]:
    if not links:
        return []
    grid = spec(LINK_COLUMNS)
    rows = GridRows(grid)
    for link in links:
        source, link_type, target = [*link.split(" ", 2), "", ""][:3]
        rows.add(
            [
                grid.lines(0, source, font=FONT_BOLD),
                grid.lines(1, link_type.replace("_", " "), color=colour),
                grid.lines(2, target, font=FONT_BOLD),
                [],
            ]
        )
    return [outline.subsection(title), *block(rows.flowable())]


def changes_since_previous(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Changes since the previous release")]
    diff = content.diff
    if diff is None:
        if content.frozen:
            text = (
                f"First release: {content.product.key} has no frozen release before {content.release.version}, so "
                "there is nothing to compare with."
            )
        else:
            text = "A draft preview is not compared with earlier releases; the report of the frozen release is."
        return story + block(note(text))
    story += block(
        note(
            f"From {content.previous_version} (baseline {diff.before_sha256[:12]}) to {content.release.version} "
            f"(baseline {diff.after_sha256[:12]})."
        ),
        small_table(["Change", "Count"], _counts(diff), [300, 100]),
    )
    if diff.is_empty:
        return story + block(note("No change: the two baselines hold the same trace data."))
    for title, refs in (("Items added", diff.items_added), ("Items removed", diff.items_removed)):
        if not refs:
            continue
        grid = spec(ITEM_COLUMNS)
        rows = GridRows(grid)
        for ref in refs:
            rows.add(
                [
                    grid.lines(0, ref.key, font=FONT_BOLD),
                    grid.lines(1, ref.kind.replace("_", " ")),
                    grid.lines(2, ref.title),
                ],
                label=ref.key,
            )
        story += [outline.subsection(title), *block(rows.flowable())]
    if diff.items_changed:
        grid = spec(CHANGED_COLUMNS)
        rows = GridRows(grid)
        for change in diff.items_changed:
            status = (
                f"{change.status_before} → {change.status_after}"
                if change.status_before != change.status_after
                else change.status_after
            )
            rows.add(
                [
                    grid.lines(0, change.key, font=FONT_BOLD),
                    grid.lines(1, change.title) + muted(grid, 1, change.kind.replace("_", " ")),
                    grid.lines(2, ", ".join(change.fields)),
                    grid.lines(3, f"{change.revision_before} → {change.revision_after}"),
                    grid.lines(4, status),
                ],
                label=change.key,
            )
        story += [outline.subsection("Items changed"), *block(rows.flowable())]
    story += _links(outline, "Links added", diff.links_added, GREEN)
    story += _links(outline, "Links removed", diff.links_removed, RED)
    for title, entries in (
        ("Clause evidence added", diff.clause_links_added),
        ("Clause evidence removed", diff.clause_links_removed),
    ):
        if not entries:
            continue
        grid = spec(CLAUSE_LINK_COLUMNS)
        rows = GridRows(grid)
        for entry in entries:
            item, _, clause = entry.partition(" → ")
            rows.add([grid.lines(0, item, font=FONT_BOLD), grid.lines(1, clause)])
        story += [outline.subsection(title), *block(rows.flowable())]
    if diff.results_changed:
        grid = spec(RESULT_COLUMNS)
        rows = GridRows(grid)
        for result in diff.results_changed:
            rows.add(
                [
                    grid.lines(0, result.test_case, font=FONT_BOLD),
                    grid.lines(1, (result.before or "no result").replace("_", " "), color=MUTED),
                    grid.lines(
                        2,
                        (result.after or "no result").replace("_", " "),
                        font=FONT_BOLD,
                        color=GREEN
                        if result.after in ("passed",)
                        else RED
                        if result.after in ("failed", "error")
                        else AMBER,
                    ),
                ],
                label=result.test_case,
            )
        story += [outline.subsection("Test results changed"), *block(rows.flowable())]
    return story
