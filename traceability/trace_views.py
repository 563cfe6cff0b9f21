"""Pages of the trace engine: a release (state, baseline, signatures, gaps, changes; freeze and
approve forms), the matrix with filters and paging, the gap report."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.generic import TemplateView, View

from qms.auth import client_address
from qms.errors import Conflict, DomainError, InvalidInput, NotFound
from qms.models import SignatureMeaning
from qms.roles import Scope, acting_user, user_write_scopes
from qms.views import SnapshotPageMixin
from traceability.gap_rules import FINDING_SEVERITIES
from traceability.graph.findings import GapMark
from traceability.graph.gaps import gaps_find
from traceability.graph.matrix import DEFAULT_ROOT_KIND, ROOT_KINDS, ROW_STATUSES, MatrixRow
from traceability.graph.selectors import baseline_diff, graph_load
from traceability.graph.summary import matrix_build
from traceability.kinds import ItemKind
from traceability.models import Release, ReleaseState
from traceability.selectors import release_get, release_list, release_previous, release_signatures
from traceability.services.releases import APPROVAL_MEANINGS, release_approve, release_freeze
from traceability.views import ProductPageMixin


class ReleasePageMixin(SnapshotPageMixin, ProductPageMixin):
    """Pages of the trace engine, each read in one snapshot. A domain error while computing the
    page (a bad filter value, 400; a frozen release whose baseline is missing or altered, 409) is an
    error page with that status and the message, never a 500 and never live data in place of a
    baseline."""

    heading = "Trace"
    request: HttpRequest

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)
        except DomainError as exc:
            return self.problem(exc)

    def problem(self, exc: DomainError) -> HttpResponse:
        product = self.get_product()
        context = {
            "product": product,
            "heading": self.heading,
            "problem": exc.message,
            "code": exc.code,
            "status": exc.status_code,
            "path": self.request.path,
        }
        return render(self.request, "traceability/problem.html", context, status=exc.status_code)

    def get_release(self, version: str | None) -> Release | None:
        if not version:
            return None
        try:
            return release_get(product=self.get_product(), version=version)
        except NotFound as exc:
            raise Http404(exc.message) from exc


def _choice(params: QueryDict, name: str, choices: Sequence[str]) -> str:
    """A filter value: empty (no filter) or one of ``choices``; anything else is a 400."""
    value = params.get(name, "").strip()
    if value and value not in choices:
        raise InvalidInput(f"{name}: unknown {name} {value!r} (known: {', '.join(choices)})", field=name)
    return value


def _query_string(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class ReleasePage(ReleasePageMixin, TemplateView):
    """A release. When the change record against the previous release cannot be computed (that
    release's baseline is missing or altered) the page still shows this release, with the problem
    in place of the changes, answered 409."""

    template_name = "traceability/release_detail.html"
    heading = "Release"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        release = self.get_release(self.kwargs["version"])
        assert release is not None
        graph = graph_load(product=product, release=release)
        report = gaps_find(graph)
        previous = release_previous(release)
        diff, diff_problem = None, ""
        if previous is not None:
            try:
                diff = baseline_diff(release_a=previous, release_b=release, graph_b=graph)
            except Conflict as exc:
                diff_problem = exc.message
        scopes = user_write_scopes(self.request.user)
        signatures = list(release_signatures(release))
        approval_id = graph.release.approval_signature_id if graph.release else None
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "release": release,
            "frozen": graph.is_frozen,
            "report": report,
            "rules": [entry for entry in report.by_rule() if entry["count"] or entry["waived"]],
            "signatures": signatures,
            "approval": next((signature for signature in signatures if signature.pk == approval_id), None),
            "previous": previous,
            "diff": diff,
            "diff_problem": diff_problem,
            "can_freeze": release.state == ReleaseState.DRAFT and Scope.PRODUCTS in scopes,
            "can_approve": release.state == ReleaseState.FROZEN and Scope.APPROVALS in scopes,
            "meanings": [(value, label) for value, label in SignatureMeaning.choices if value in APPROVAL_MEANINGS],
        }

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        if context.get("diff_problem"):
            response_kwargs["status"] = 409
        return super().render_to_response(context, **response_kwargs)


class ReleaseActionView(ReleasePageMixin, View):
    """POST-only forms of the release page: freeze (products scope) and approve (approvals scope)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        product = self.get_product()
        release = self.get_release(self.kwargs["version"])
        assert release is not None
        action = self.kwargs["action"]
        scopes = user_write_scopes(request.user)
        try:
            if action == "freeze" and Scope.PRODUCTS in scopes:
                frozen = release_freeze(product=product, version=release.version, actor=acting_user(request.user))
                messages.success(request, f"{product.key} {frozen.version} is frozen.")
            elif action == "approve" and Scope.APPROVALS in scopes:
                release_approve(
                    release=release,
                    signer=acting_user(request.user),
                    password=request.POST.get("password", ""),
                    meaning=request.POST.get("meaning", SignatureMeaning.APPROVAL),
                    comment=request.POST.get("comment", ""),
                    client_address=client_address(request),
                )
                messages.success(request, f"{product.key} {release.version} is approved and signed.")
            else:
                messages.error(request, "Your role may not do this.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("release-detail", args=[product.key, release.version]))


@dataclass(slots=True)
class MatrixPageRow:
    """A matrix row as the page shows it: gap rules with their severity, clauses with a label."""

    row: MatrixRow
    gaps: list[tuple[str, str, str]]  # (rule, severity, label: "warning (deviation DEV-3)" when a deviation set it)
    clauses: list[tuple[str, str]]  # (label, reference)


def _gap_marks(marks: Mapping[str, GapMark], rules: list[str]) -> list[tuple[str, str, str]]:
    return [(rule, marks[rule].severity, marks[rule].label) if rule in marks else (rule, "", "") for rule in rules]


class MatrixPage(ReleasePageMixin, TemplateView):
    """The matrix with filters (release, row kind, status, gaps only), 100 rows a page."""

    template_name = "traceability/matrix.html"
    heading = "Traceability matrix"
    page_size = 100

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        params = self.request.GET
        release = self.get_release(params.get("release", "").strip())
        root_kind = _choice(params, "kind", [str(kind) for kind in ROOT_KINDS]) or str(DEFAULT_ROOT_KIND)
        status = _choice(params, "status", ROW_STATUSES)
        gaps_only = params.get("gaps") == "1"
        graph = graph_load(product=product, release=release)
        matrix = matrix_build(graph, root_kind=root_kind)
        rows = matrix.rows
        if status:
            rows = [row for row in rows if row.status == status]
        if gaps_only:
            rows = [row for row in rows if row.gaps]
        page = Paginator(rows, self.page_size).get_page(params.get("page"))
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "release": release,
            "matrix": matrix,
            "rows": [
                MatrixPageRow(
                    row=row,
                    gaps=_gap_marks(matrix.gaps.marks_of(row.key) if matrix.gaps else {}, row.gaps),
                    clauses=[(graph.clause_label(ref), ref) for ref in row.clauses],
                )
                for row in page.object_list
            ],
            "coverage": matrix.coverage,
            "page": page,
            "releases": release_list(product=product),
            "kinds": [(str(k), ItemKind(k).label) for k in ROOT_KINDS],
            "statuses": ROW_STATUSES,
            "filters": {
                "release": release.version if release else "",
                "kind": root_kind,
                "status": status,
                "gaps": gaps_only,
            },
            "query_string": _query_string(self.request),
        }


class GapsPage(ReleasePageMixin, TemplateView):
    template_name = "traceability/gaps.html"
    heading = "Gaps"
    page_size = 200

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        params = self.request.GET
        release = self.get_release(params.get("release", "").strip())
        graph = graph_load(product=product, release=release)
        report = gaps_find(graph)
        severity = _choice(params, "severity", FINDING_SEVERITIES)
        findings = [f for f in report.findings if f.severity == severity] if severity else report.findings
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "release": release,
            "frozen": graph.is_frozen,
            "report": report,
            "rules": [entry for entry in report.by_rule() if entry["count"] or entry["waived"]],
            "page": Paginator(findings, self.page_size).get_page(params.get("page")),
            "severity": severity,
            "query_string": _query_string(self.request),
        }
