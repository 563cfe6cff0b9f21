"""Pages: products, items with their links, clause evidence and history; release report downloads."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from qms.errors import Conflict, DomainError, NotFound
from qms.roles import Scope, acting_user, user_write_scopes
from qms.views import RoleRequiredMixin, SnapshotPageMixin
from traceability.api.reports import RETRY_AFTER_SECONDS, stored_report_response
from traceability.graph.selectors import item_walks
from traceability.kinds import ItemKind, ItemStatus
from traceability.models import Product, ReportFormat, ReportState
from traceability.selectors import (
    clause_link_list,
    item_get,
    item_history,
    item_links,
    item_list,
    link_get,
    product_get,
    product_list,
    product_overview,
    release_get,
    release_list,
)
from traceability.services.links import item_links_review, link_review
from traceability.services.reports import trace_report_request


class ProductPageMixin(RoleRequiredMixin):
    kwargs: dict[str, Any]

    def get_product(self) -> Product:
        try:
            return product_get(self.kwargs["product_key"])
        except NotFound as exc:
            raise Http404(exc.message) from exc


class ProductListPage(RoleRequiredMixin, TemplateView):
    template_name = "traceability/product_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "products": product_list()}


class ProductPage(SnapshotPageMixin, ProductPageMixin, TemplateView):
    template_name = "traceability/product_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        overview = product_overview(product)
        kinds = [
            {
                "slug": kind.value,
                "label": kind.label,
                "total": sum(overview["by_kind"].get(kind.value, {}).values()),
                "approved": overview["by_kind"].get(kind.value, {}).get(ItemStatus.APPROVED, 0),
            }
            for kind in ItemKind
        ]
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "kinds": kinds,
            "overview": overview,
            "releases": release_list(product=product),
        }


class ItemListPage(SnapshotPageMixin, ProductPageMixin, TemplateView):
    template_name = "traceability/item_list.html"
    page_size = 100

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        params = self.request.GET
        items = item_list(product=product)
        kind, item_status, query = params.get("kind", ""), params.get("status", ""), params.get("q", "").strip()
        if kind in ItemKind.values:
            items = items.filter(kind=kind)
        if item_status in ItemStatus.values:
            items = items.filter(status=item_status)
        if query:
            items = items.filter(Q(key__icontains=query) | Q(title__icontains=query))
        page = Paginator(items, self.page_size).get_page(params.get("page"))
        query_string = params.copy()
        query_string.pop("page", None)
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "page": page,
            "kinds": ItemKind.choices,
            "statuses": ItemStatus.choices,
            "filters": {"kind": kind, "status": item_status, "q": query},
            "query_string": query_string.urlencode(),
        }


class ItemPage(SnapshotPageMixin, ProductPageMixin, TemplateView):
    template_name = "traceability/item_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        product = self.get_product()
        try:
            item = item_get(product=product, key=self.kwargs["key"])
        except NotFound as exc:
            raise Http404(exc.message) from exc
        links_out, links_in = item_links(item)
        return {
            **super().get_context_data(**kwargs),
            "product": product,
            "item": item,
            "links_out": links_out,
            "links_in": links_in,
            "clause_links": clause_link_list(product=product).filter(item=item),
            "history": item_history(item).reverse()[:50],
            "walks": item_walks(product=product, key=item.key),
            "can_review": Scope.ITEMS in user_write_scopes(self.request.user),
            "suspect_count": sum(getattr(link, "is_suspect", False) for link in [*links_out, *links_in]),
        }


class ItemReviewAction(ProductPageMixin, View):
    """Clear a suspect link of the item (``link`` = its id) or all of them, with an optional note; audited."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        product = self.get_product()
        try:
            item = item_get(product=product, key=self.kwargs["key"])
        except NotFound as exc:
            raise Http404(exc.message) from exc
        back = HttpResponseRedirect(reverse("item-detail", args=[product.key, item.key]))
        if Scope.ITEMS not in user_write_scopes(request.user):
            messages.error(request, "Your role may not review links.")
            return back
        note = request.POST.get("note", "").strip()
        try:
            if request.POST.get("link"):
                link = link_get(product=product, pk=int(request.POST["link"]))
                if item.pk not in (link.source_id, link.target_id):
                    raise NotFound(f"link #{link.pk} is not a link of {item.key}")
                link_review(link=link, actor=acting_user(request.user), note=note)
                messages.success(request, f"Link #{link.pk} reviewed: no longer suspect.")
            else:
                cleared = item_links_review(item=item, actor=acting_user(request.user), note=note)
                messages.success(request, f"{len(cleared)} suspect link(s) of {item.key} reviewed.")
        except ValueError:
            messages.error(request, "link: not a link id")
        except DomainError as exc:
            messages.error(request, exc.message)
        return back


class ReleaseReportDownload(ProductPageMixin, View):
    """Download of a frozen release's trace report for the release page (PDF, or XLSX).

    A stored report is served at once; while the background job renders it, a page that reloads
    itself (202, Retry-After); a draft release has no report (409)."""

    report_format = ReportFormat.PDF

    def get(self, request: HttpRequest, product_key: str, version: str) -> HttpResponseBase:
        product = self.get_product()
        try:
            release = release_get(product=product, version=version)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        context: dict[str, Any] = {"product": product, "release": release, "format": self.report_format}
        try:
            report = trace_report_request(
                release=release, report_format=self.report_format, actor=acting_user(request.user)
            )
        except Conflict as exc:
            context["problem"] = exc.message
            return render(request, "traceability/report_status.html", context, status=409)
        report.refresh_from_db()
        if report.state == ReportState.READY:
            try:
                return stored_report_response(
                    report, acting_user(request.user), request.headers.get("If-None-Match", "")
                )
            except Conflict as exc:
                context["problem"] = exc.message
                return render(request, "traceability/report_status.html", context, status=409)
        context["report"] = report
        if report.state == ReportState.FAILED:
            context["problem"] = f"the report could not be generated: {report.error}"
            return render(request, "traceability/report_status.html", context, status=500)
        context["retry_after"] = RETRY_AFTER_SECONDS  # the page reloads when Retry-After says
        response = render(request, "traceability/report_status.html", context, status=202)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class ReleaseWorkbookDownload(ReleaseReportDownload):
    report_format = ReportFormat.XLSX
