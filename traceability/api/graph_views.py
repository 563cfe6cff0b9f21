"""REST API of the graph walks: upstream and downstream of an item, orphans, cycles.

Thin: parse the query, call a selector, render. ``?release=V`` answers from that release
(its baseline when frozen), otherwise the live graph.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability.api.release_serializers import GraphQueryInputSerializer, ItemTraceQueryInputSerializer
from traceability.api.release_views import paged_response, query_params
from traceability.api.views import ProductScopedMixin
from traceability.graph.model import TraceGraph
from traceability.graph.selectors import cycles_for_release, item_trace, orphans_for_release
from traceability.models import Release
from traceability.selectors import release_get


class GraphQueryMixin(ProductScopedMixin):
    def release_of(self, query: dict[str, Any]) -> Release | None:
        version = (query.get("release") or "").strip()
        return release_get(product=self.product, version=version) if version else None

    def head(self, graph: TraceGraph) -> dict[str, Any]:
        return {
            "product": self.product.key,
            "release": graph.release.version if graph.release else None,
            "frozen": graph.is_frozen,
        }


class ItemTraceView(GraphQueryMixin, APIView):
    """Everything upstream (what the item depends on) or downstream (what depends on it) of an
    item, transitively: each item's kind, title, depth, shortest path and whether the link of
    its last hop is suspect. ``direction`` is required; ``link_type`` (repeatable) narrows the
    walk; paginated."""

    @extend_schema(parameters=[ItemTraceQueryInputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str, key: str) -> Response:
        query = query_params(ItemTraceQueryInputSerializer, request)
        graph, trace = item_trace(
            product=self.product,
            key=key,
            direction=query["direction"],
            release=self.release_of(query),
            link_types=sorted(query.get("link_type") or []),
        )
        return paged_response(self, request, trace.items, {**self.head(graph), **trace.header()})


class OrphanListView(GraphQueryMixin, APIView):
    """Items linked to no other item (obsolete items and documents aside); paginated."""

    @extend_schema(parameters=[GraphQueryInputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str) -> Response:
        query = query_params(GraphQueryInputSerializer, request)
        graph, orphans = orphans_for_release(product=self.product, release=self.release_of(query))
        return paged_response(self, request, orphans, self.head(graph))


class CycleListView(GraphQueryMixin, APIView):
    """Cycles of derives_from or part_of links, each with its link type and keys; the services
    never create one, so anything listed was written around them; paginated."""

    @extend_schema(parameters=[GraphQueryInputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str) -> Response:
        query = query_params(GraphQueryInputSerializer, request)
        graph, cycles = cycles_for_release(product=self.product, release=self.release_of(query))
        return paged_response(self, request, cycles, self.head(graph))
