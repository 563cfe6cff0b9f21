"""Trace reports of a release: the auditor's PDF and the CSV/XLSX exports of its tables.

Modules:

- ``content``: ``ReportContent`` (what the report says, from the trace engine) and
  ``ReportIdentity`` (what a stored report's bytes depend on)
- ``selectors``: identity and content of a release from the database; stored reports
- ``pdf``: the PDF (document template, running header and footer, outline, contents);
  ``sections/`` its sections; ``grid`` the long-table flowable; ``charts``; ``layout``;
  ``styles``; ``text`` (fonts, printable text, wrapping)
- ``tables``: the report's tables as rows; ``exports``: rows → CSV / XLSX bytes
- ``render``: content → bytes of a format

Writes (storing a report, the background job) are in ``traceability.services.reports`` and
``traceability.tasks``.
"""
