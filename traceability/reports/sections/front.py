"""Cover, document control with the signature manifest, and the summary."""

from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, Spacer

from traceability.gap_rules import GAP_RULES_BY_SLUG, lowering_overrides
from traceability.graph.findings import severity_label
from traceability.reports.charts import coverage_chart, gap_chart
from traceability.reports.content import ReportContent
from traceability.reports.identity import LAYOUT_VERSION, utc_text
from traceability.reports.layout import Outline, banner, block, coloured, kv_table, note, para, rich, small_table
from traceability.reports.sections.common import rule_name, share
from traceability.reports.styles import (
    AMBER,
    AMBER_FILL,
    BODY,
    CELL,
    COVER_KICKER,
    COVER_SUBTITLE,
    COVER_TITLE,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    GREEN,
    GREY,
    RED,
    RED_FILL,
)
from traceability.reports.text import FONT_BOLD, FONT_MONO, markup_escape, printable, text_width


def mono(text: str) -> Paragraph:
    return rich(f'<font name="{FONT_MONO}">{escape(printable(text)) or "–"}</font>', CELL)


def status_banner(content: ReportContent) -> Flowable:
    if not content.frozen:
        return banner(
            "NOT FROZEN – DRAFT PREVIEW",
            f"Rendered from live data at {utc_text(content.generated_at)}. This is not a controlled record: "
            "freeze the release to take its baseline, then generate the report from it.",
            RED,
        )
    if content.withdrawn:
        return banner("WITHDRAWN", f"This release was withdrawn: {content.withdrawn_reason or 'no reason given'}", RED)
    if not content.approved:
        return banner(
            "NOT APPROVED",
            "The manufacturer's release approval has not been signed over this baseline. Until it is "
            "(21 CFR 11.50, IEC 62304 5.8), this document is not a released record; other signatures "
            "(authorship, review) do not approve it.",
            RED,
        )
    names = "; ".join(
        f"{signature.printed_name} ({signature.meaning_label.lower()}, {utc_text(signature.signed_at)})"
        for signature in content.approvals
    )
    return banner("APPROVED", f"Release approval signed over this baseline by {names}.", GREEN)


def cover(content: ReportContent) -> list[Flowable]:
    product, release = content.product, content.release
    previous = content.previous_version or ("first release" if content.frozen else "–")
    rows: list[tuple[str, object]] = [
        ("Product", f"{product.key} – {product.name}"),
        ("Version", release.version),
        ("Release state", content.release_state),
        ("Software safety class (IEC 62304)", content.safety_class),
        ("Git tag", release.git_tag or "–"),
        ("Commit SHA", mono(release.commit_sha)),
        ("Baseline SHA-256", mono(content.baseline_sha256 or "none: not frozen")),
        ("Baseline taken at", utc_text(content.taken_at) if content.frozen else "not frozen"),
        ("Document ID", mono(content.document_id)),
        ("Revision", f"{content.revision} ({len(content.signatures)} signature{'s' if content.revision != 1 else ''})"),
        ("Report date", utc_text(content.report_date)),
        ("Previous release", previous),
        ("Signed deviations", deviations_summary(content)),
    ]
    if content.frozen:
        footnote = (
            "The baseline SHA-256 identifies the frozen trace data this report was generated from; the same "
            "baseline and signatures always give a byte-identical file. Compare it with the release record "
            "and the signatures in Q-interface to confirm this is a controlled copy."
        )
    else:
        footnote = (
            "This preview has no baseline: it shows the live data at the time above, which may change at any "
            "moment, so another preview of the same release can differ. It is not a controlled copy and cannot "
            "be signed; freeze the release to take a baseline, whose SHA-256 then identifies the report's data."
        )
    page = [
        Spacer(1, 14),
        para("TRACEABILITY REPORT", COVER_KICKER),
        Spacer(1, 4),
        para(product.name, cover_title_style(product.name)),
        para(f"{product.key} · Release {release.version}", COVER_SUBTITLE),
        Spacer(1, 14),
        status_banner(content),
        Spacer(1, 14),
        kv_table(rows, widths=(190, FRAME_WIDTH - 190)),
        *([Spacer(1, 8), deviation_table(content)] if content.deviations else []),
        Spacer(1, 10),
        note(footnote),
    ]
    # a long product name (up to 255 characters) never pushes the cover onto a second page
    return [KeepInFrame(FRAME_WIDTH, FRAME_HEIGHT, page, mode="shrink")]


def cover_title_style(name: str) -> ParagraphStyle:
    """The cover title's style: 28 pt, smaller for a long name so it takes at most two lines."""
    for size in (28.0, 22.0, 18.0):
        if text_width(printable(name), COVER_TITLE.fontName, size) <= 1.9 * FRAME_WIDTH:
            break
    else:
        size = 15.0
    if size == COVER_TITLE.fontSize:
        return COVER_TITLE
    return COVER_TITLE.clone(f"cover-title-{size:g}", fontSize=size, leading=round(size * 1.18, 1))


def document_control(content: ReportContent, outline: Outline) -> list[Flowable]:
    product, release, graph = content.product, content.release, content.graph
    story: list[Flowable] = [outline.section("Document control and signatures")]
    if content.frozen:
        story += block(
            para(
                f"This report is generated by Q-interface from the frozen baseline of {product.key} {release.version} "
                f"(SHA-256 {content.baseline_sha256}), taken at {utc_text(content.taken_at)}. Its content and its "
                "bytes are determined by that baseline, the release state and the electronic signatures listed below. "
                "Revision 0 is the report as generated from the baseline; each signature over the baseline adds a "
                "revision, so a report regenerated after approval is a new revision, never a silently changed copy."
            )
        )
    else:
        story += block(
            para(
                f"This is a preview of {product.key} {release.version} rendered from live data at "
                f"{utc_text(content.generated_at)}. The release has no baseline yet, so nothing can be signed and the "
                "content may change at any time."
            )
        )
    if not content.approved:
        story += block(status_banner(content), space=10)
    story.append(outline.subsection("Revision history"))
    revisions = [("0", utc_text(content.generated_at), "Generated from the baseline" if content.frozen else "Preview")]
    for index, signature in enumerate(content.signatures, start=1):
        revisions.append(
            (
                str(index),
                utc_text(signature.signed_at),
                f"{signature.meaning_label} signature by {signature.printed_name}",
            )
        )
    story += block(small_table(["Revision", "Date and time (UTC)", "Description"], revisions, [60, 150, 560]))
    story.append(outline.subsection("Signature manifest (21 CFR 11.50)"))
    if content.signatures:
        story += block(
            small_table(
                ["#", "Printed name", "User", "Date and time (UTC)", "Meaning", "Comment", "Signed record (SHA-256)"],
                [
                    (
                        str(index),
                        rich(f"<b>{escape(printable(signature.printed_name))}</b>", CELL),
                        signature.username,
                        utc_text(signature.signed_at),
                        signature.manifest_label,
                        signature.comment or "–",
                        mono(signature.record_hash),
                    )
                    for index, signature in enumerate(content.signatures, start=1)
                ],
                [22, 120, 70, 110, 70, 170, 210],
            ),
            note(
                "Each signature was applied in Q-interface by re-entering the signer's password (21 CFR 11.200) and "
                "is bound to the baseline by its SHA-256 (11.70). Printed name, date and time and meaning are shown "
                "as required by 11.50."
            ),
        )
    else:
        story += block(
            coloured("No electronic signature has been applied to this baseline.", RED, bold=True),
        )
    story.append(outline.subsection("Release record"))
    ignored = lowering_overrides(graph.product.gap_rules, product.safety_class)
    overrides = ", ".join(
        f"{rule} → {severity}{' (ignored: a protected rule)' if rule in ignored else ''}"
        for rule, severity in sorted(graph.product.gap_rules.items())
    )
    story += block(
        kv_table(
            [
                ("Release state", content.release_state),
                *([("Withdrawn because", content.withdrawn_reason)] if content.withdrawn else []),
                ("Git tag / commit", f"{release.git_tag or '–'} / {release.commit_sha or '–'}"),
                ("Standards followed", ", ".join(product.standards) or "none"),
                (
                    "Content of the baseline",
                    f"{len(graph.items)} items, {len(graph.links)} links, "
                    f"{sum(len(refs) for refs in graph.clause_links.values())} clause links, "
                    f"{len(graph.results)} test results",
                ),
                ("Gap rule overrides", overrides or "none (defaults for the safety class)"),
                ("Signed deviations", deviations_summary(content)),
                *([("Not applied", "; ".join(content.gaps.notes))] if content.gaps.notes else []),
                ("Report layout", f"version {LAYOUT_VERSION}"),
            ],
            widths=(190, FRAME_WIDTH - 190),
        )
    )
    return story


def summary(content: ReportContent, outline: Outline) -> list[Flowable]:
    coverage, gaps = content.coverage, content.gaps
    story: list[Flowable] = [outline.section("Summary")]
    score = coverage.trace_score
    figures = [
        ("Software requirements", f"{coverage.requirements}"),
        (
            "verified (incl. not applicable)",
            f"{coverage.requirements_verified} ({share(coverage.requirements_verified, coverage.requirements)}); "
            f"{coverage.requirements_not_applicable} not applicable with a justification",
        ),
        (
            "not verified / suspect / failed",
            f"{coverage.requirements_not_verified} / {coverage.requirements_suspect} / {coverage.requirements_failed}",
        ),
        ("System requirements", f"{len(content.system_matrix)}"),
        (
            "Risks",
            f"{coverage.risks}: {coverage.risks_controlled} controlled or acceptable "
            f"({share(coverage.risks_controlled, coverage.risks)}), {coverage.risks_controlled_and_verified} "
            f"controlled and verified ({share(coverage.risks_controlled_and_verified, coverage.risks)})",
        ),
        (
            "Tests",
            f"{coverage.tests}: {coverage.tests_passed} passed, {coverage.tests_failed} failed, "
            f"{coverage.tests_without_result} without a result in this release",
        ),
        ("Trace score", f"{100 * score:.1f} %" if score is not None else "–"),
        ("Gaps", f"{gaps.errors} errors, {gaps.warnings} warnings"),
        ("Signed deviations", deviations_summary(content)),
        (
            "Ready for approval",
            coloured("yes: no error-level gap", GREEN, bold=True)
            if gaps.ready
            else coloured(f"no: {gaps.errors} error-level gap{'s' if gaps.errors != 1 else ''}", RED, bold=True),
        ),
    ]
    story += block(kv_table(figures, widths=(190, FRAME_WIDTH - 190)), space=10)
    story += block(coverage_chart(coverage, width=FRAME_WIDTH), space=4)
    story += block(
        note(
            "Trace score: the mean of the shares of requirements verified, risks controlled and verified, and tests "
            "passed. A requirement counts as verified when every verifying test passed in this release, or when it "
            "carries a justification for not being tested."
        )
    )
    if content.deviations:
        story.append(outline.subsection("Signed deviations"))
        story += block(
            note(
                "Protected gap rules (those that protect patients) are lowered on a class B or C product only by a "
                "quality manager's electronic signature with a written rationale, for the whole rule or for the "
                "finding of one item. The deviations below are part of the baseline: one signed later does not "
                "change this release."
            ),
            deviation_table(content),
        )
    story.append(outline.subsection("Gaps by rule and severity"))
    by_rule = gaps.by_rule()
    rows, fills = [], []
    for entry in by_rule:
        rule = GAP_RULES_BY_SLUG[entry["rule"]]
        severity = entry["severity"]
        count = entry["count"]
        colour = severity_colour(severity)
        severity_cell = _coloured_markup(severity_label(severity, entry["deviation"] or ""), colour)
        for key, label in entry["item_deviations"].items():
            severity_cell += "<br/>" + _coloured_markup(f"{key}: {label}", severity_colour(label.split(" ")[0]))
        found_colour = RED if entry["errors"] else AMBER if count else GREY
        found = str(count) + (f" (+{entry['waived']} off by deviation)" if entry["waived"] else "")
        rows.append(
            (
                rich(f"<b>{escape(rule_name(rule.slug))}</b>", CELL),
                entry["title"],
                rule.clauses,
                rich(severity_cell, CELL),
                coloured(found, found_colour, bold=bool(count)),
            )
        )
        fills.append(RED_FILL if entry["errors"] else AMBER_FILL if count else None)
    story += block(
        small_table(["Gap", "Rule", "Clauses", "Severity", "Found"], rows, [120, 290, 170, 110, 80], fills=fills)
    )
    chart = gap_chart(by_rule, width=FRAME_WIDTH)
    if chart is not None:
        story += block(chart)
    else:
        story += block(para("No gap: every rule in force passed.", BODY))
    return story


def deviations_summary(content: ReportContent) -> str:
    deviations = content.deviations
    if not deviations:
        return "none"
    listed = ", ".join(f"{deviation.label} ({deviation.rule}, {deviation.scope})" for deviation in deviations)
    return f"{len(deviations)} in force: {listed}"


DEVIATION_COLUMNS = ("Deviation", "Rule", "Scope", "Lowered to", "Signed by", "Signed at (UTC)", "Rationale")


def deviation_table(content: ReportContent) -> Flowable:
    """Every signed deviation in force: rule, scope, the severity it lowers to, the signer's printed
    name, the signing time and the rationale (21 CFR 11.50: who, when, and the meaning: approval)."""
    widths = [56, 120, 90, 56, 100, 96]
    return small_table(
        DEVIATION_COLUMNS,
        [
            (
                rich(f"<b>{deviation.label}</b>", CELL),
                deviation.rule,
                deviation.scope,
                coloured(deviation.severity, severity_colour(deviation.severity), bold=True),
                rich(f"<b>{markup_escape(deviation.printed_name)}</b> ({markup_escape(deviation.signer)})", CELL),
                utc_text(deviation.signed_at),
                deviation.rationale,
            )
            for deviation in content.deviations
        ],
        [*widths, FRAME_WIDTH - sum(widths)],
    )


def severity_colour(severity: str) -> Color:
    return RED if severity == "error" else AMBER if severity == "warning" else GREY


def _coloured_markup(text: str, colour: Color) -> str:
    return f'<font name="{FONT_BOLD}" color="{colour.hexval()}">{markup_escape(text)}</font>'
