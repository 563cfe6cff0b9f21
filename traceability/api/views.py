"""REST API of products, items, links and clause evidence. Thin: parse, call a service or selector, render."""

from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.permissions import request_token
from qms.errors import InvalidInput, NotFound
from qms.roles import Scope, acting_user
from qms.snapshot import read_snapshot
from standards.api.serializers import ClauseOutputSerializer
from standards.models import Clause
from standards.selectors import clause_get_by_ref
from traceability.api.filters import ClauseLinkFilter, ItemFilter, LinkFilter
from traceability.api.serializers import (
    ClauseLinkCreateInputSerializer,
    ClauseLinkOutputSerializer,
    HistoryEventOutputSerializer,
    ItemAtOutputSerializer,
    ItemCreateInputSerializer,
    ItemDetailOutputSerializer,
    ItemOutputSerializer,
    ItemUpdateInputSerializer,
    LinkAtOutputSerializer,
    LinkCreateInputSerializer,
    LinkOutputSerializer,
    LinkReviewInputSerializer,
    ProductCreateInputSerializer,
    ProductOutputSerializer,
    ProductUpdateInputSerializer,
)
from traceability.models import ClauseLink, Item, Link, Product
from traceability.selectors import (
    RecordAt,
    clause_link_get,
    clause_link_list,
    item_get,
    item_key_as_of,
    item_key_history,
    item_key_known,
    item_links,
    item_list,
    link_exists_in,
    link_get,
    link_history,
    link_list,
    product_applicable_clauses,
    product_get,
    product_list,
    record_as_of,
)
from traceability.services.items import clause_link_create, clause_link_delete, item_create, item_update
from traceability.services.links import item_links_review, link_create, link_delete, link_review
from traceability.services.products import product_create, product_update


def valid_input(serializer_class: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ProductScopedMixin:
    kwargs: dict[str, Any]

    @cached_property
    def product(self) -> Product:
        return product_get(self.kwargs["product_key"])


class ProductListMixin(ProductScopedMixin):
    """A list of one product's rows: ``scoped_queryset()``. While drf-spectacular generates the
    schema there is no product in the URL; an empty ``list_model`` queryset lets it read the filters."""

    list_model: type[Model]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.list_model._default_manager.none()
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError


class ProductListView(generics.ListAPIView):
    """Products. Quality managers create them."""

    serializer_class = ProductOutputSerializer
    write_scope = Scope.PRODUCTS
    ordering_fields = ["key", "name", "created_at"]
    search_fields = ["key", "name"]

    def get_queryset(self) -> QuerySet[Product]:
        return product_list()

    @extend_schema(request=ProductCreateInputSerializer, responses={201: ProductOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid_input(ProductCreateInputSerializer, request)
        product = product_create(actor=acting_user(request.user), **data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(ProductScopedMixin, APIView):
    write_scope = Scope.PRODUCTS

    @extend_schema(responses=ProductOutputSerializer)
    def get(self, request: Request, product_key: str) -> Response:
        return Response(ProductOutputSerializer(self.product).data)

    @extend_schema(request=ProductUpdateInputSerializer, responses=ProductOutputSerializer)
    def patch(self, request: Request, product_key: str) -> Response:
        data = valid_input(ProductUpdateInputSerializer, request)
        product = product_update(product=self.product, actor=acting_user(request.user), **data)
        return Response(ProductOutputSerializer(product).data)


class ProductClauseListView(ProductListMixin, generics.ListAPIView):
    """Clauses of the product's standards that apply to its safety class (unassigned → class C)."""

    serializer_class = ClauseOutputSerializer
    search_fields = ["number", "title"]  # document order; no ordering
    list_model = Clause

    def scoped_queryset(self) -> QuerySet[Any]:
        return product_applicable_clauses(self.product).select_related("parent")


class ItemListView(ProductListMixin, generics.ListAPIView):
    serializer_class = ItemOutputSerializer
    filterset_class = ItemFilter
    write_scope = Scope.ITEMS
    ordering_fields = ["key", "kind", "status", "updated_at", "created_at"]
    search_fields = ["key", "title"]
    list_model = Item

    def scoped_queryset(self) -> QuerySet[Item]:
        return item_list(product=self.product)

    @extend_schema(request=ItemCreateInputSerializer, responses={201: ItemOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(ItemCreateInputSerializer, request)
        item = item_create(product=self.product, actor=acting_user(request.user), token=request_token(request), **data)
        return Response(ItemOutputSerializer(item).data, status=status.HTTP_201_CREATED)


def item_detail(item: Item) -> dict[str, Any]:
    """An item with its links in and out, as the item endpoints answer."""
    links_out, links_in = item_links(item)
    return ItemDetailOutputSerializer(item, context={"links_out": links_out, "links_in": links_in}).data


class ItemDetailView(ProductScopedMixin, APIView):
    """An item. Setting ``approved`` needs the ``approvals`` scope (403 ``approval_forbidden``).
    Items are never deleted: a PATCH to status ``obsolete`` retires one (DELETE is 405)."""

    write_scope = Scope.ITEMS

    @extend_schema(responses=ItemDetailOutputSerializer)
    def get(self, request: Request, product_key: str, key: str) -> Response:
        with read_snapshot():  # the item and its links of one moment
            return Response(item_detail(item_get(product=self.product, key=key)))

    @extend_schema(request=ItemUpdateInputSerializer, responses=ItemDetailOutputSerializer)
    def patch(self, request: Request, product_key: str, key: str) -> Response:
        data = valid_input(ItemUpdateInputSerializer, request)
        item = item_get(product=self.product, key=key)
        item = item_update(item=item, actor=acting_user(request.user), token=request_token(request), **data)
        return Response(item_detail(item))

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if request.method == "DELETE":
            raise MethodNotAllowed(
                "DELETE",
                detail="items are quality records and are never deleted: make the item obsolete "
                '(PATCH {"status": "obsolete"}); its links and history stay',
            )
        return super().http_method_not_allowed(request, *args, **kwargs)


AT_PARAMETER = OpenApiParameter(
    "at",
    str,
    description="ISO 8601 moment with a time zone, e.g. 2026-03-03T12:00:00Z: answer with the record as it was "
    "then (a single object, not the list of events)",
)


def moment_param(request: Request) -> datetime | None:
    at = request.query_params.get("at")
    if at is None:
        return None
    moment = parse_datetime(at)
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"'at' must be an ISO 8601 date-time with a time zone, got {at!r}", field="at")
    return moment


def state_at(record: RecordAt) -> dict[str, Any]:
    event = record.event
    return {
        "exists": record.exists,
        "state": record.state,
        "changed_at": event.at if event else None,
        "changed_by": event.actor_username if event else None,
        "action": event.action if event else None,
    }


class ItemHistoryView(ProductScopedMixin, APIView):
    """Every change of an item (who, when, before, after), also after it was deleted.

    ``?include=links`` adds the events of the links into and out of it; ``?at=`` answers with the
    item as it was then (and, with ``include=links``, the links it had then).
    """

    @extend_schema(
        parameters=[
            AT_PARAMETER,
            OpenApiParameter("include", str, enum=["links"], description="links: also the events of the item's links"),
        ],
        responses=PolymorphicProxySerializer(
            component_name="ItemHistoryOrState",
            serializers=[HistoryEventOutputSerializer(many=True), ItemAtOutputSerializer],
            resource_type_field_name=None,
            many=False,
        ),
    )
    def get(self, request: Request, product_key: str, key: str) -> Response:
        include = request.query_params.get("include", "")
        if include not in ("", "links"):
            raise InvalidInput(f"include must be 'links', got {include!r}", field="include")
        include_links = include == "links"
        moment = moment_param(request)
        if moment is None:
            events = list(item_key_history(product=self.product, key=key, include_links=include_links))
            if not events:
                self._known_or_404(key)
            return Response(HistoryEventOutputSerializer(events, many=True).data)
        snapshot = item_key_as_of(product=self.product, key=key, when=moment, include_links=include_links)
        if snapshot.item.event is None:
            self._known_or_404(key)
        data: dict[str, Any] = {"key": key, "at": moment, **state_at(snapshot.item)}
        if include_links:
            data["links"] = [
                {"id": int(link.event.object_id), **state_at(link)} for link in snapshot.links if link.event
            ]
        return Response(ItemAtOutputSerializer(data).data)

    def _known_or_404(self, key: str) -> None:
        if not item_key_known(product=self.product, key=key):
            raise NotFound(f"{self.product.key} has no item {key!r} and never had", product=self.product.key, key=key)


class LinkHistoryView(ProductScopedMixin, APIView):
    """Every change of a link (created, reviewed, deleted: who, when, before, after), also once deleted;
    with ``?at=`` the link as it was then."""

    @extend_schema(
        parameters=[AT_PARAMETER],
        responses=PolymorphicProxySerializer(
            component_name="LinkHistoryOrState",
            serializers=[HistoryEventOutputSerializer(many=True), LinkAtOutputSerializer],
            resource_type_field_name=None,
            many=False,
        ),
    )
    def get(self, request: Request, product_key: str, pk: int) -> Response:
        moment = moment_param(request)
        events = list(link_history(product=self.product, pk=pk))
        if not events and not link_exists_in(product=self.product, pk=pk):
            raise NotFound(f"{self.product.key} has no link #{pk} and never had", product=self.product.key)
        if moment is None:
            return Response(HistoryEventOutputSerializer(events, many=True).data)
        record = record_as_of(events, moment)
        return Response(LinkAtOutputSerializer({"id": pk, "at": moment, **state_at(record)}).data)


class LinkListView(ProductListMixin, generics.ListAPIView):
    serializer_class = LinkOutputSerializer
    filterset_class = LinkFilter
    write_scope = Scope.ITEMS
    ordering_fields = ["created_at", "link_type", "source__key", "target__key"]
    search_fields = ["source__key", "source__title", "target__key", "target__title"]
    list_model = Link

    def scoped_queryset(self) -> QuerySet[Link]:
        return link_list(product=self.product)

    @extend_schema(request=LinkCreateInputSerializer, responses={201: LinkOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(LinkCreateInputSerializer, request)
        source = item_get(product=self.product, key=data["source"])
        target = item_get(product=self.product, key=data["target"])
        link = link_create(source=source, target=target, link_type=data["link_type"], actor=acting_user(request.user))
        return Response(
            LinkOutputSerializer(link_get(product=self.product, pk=link.pk)).data, status=status.HTTP_201_CREATED
        )


class LinkDetailView(ProductScopedMixin, APIView):
    write_scope = Scope.ITEMS

    @extend_schema(responses=LinkOutputSerializer)
    def get(self, request: Request, product_key: str, pk: int) -> Response:
        return Response(LinkOutputSerializer(link_get(product=self.product, pk=pk)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, product_key: str, pk: int) -> Response:
        link_delete(link=link_get(product=self.product, pk=pk), actor=acting_user(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LinkReviewView(ProductScopedMixin, APIView):
    """Clear a suspect link after reviewing it against the target's new content."""

    write_scope = Scope.ITEMS

    @extend_schema(request=LinkReviewInputSerializer, responses=LinkOutputSerializer)
    def post(self, request: Request, product_key: str, pk: int) -> Response:
        data = valid_input(LinkReviewInputSerializer, request)
        link_review(link=link_get(product=self.product, pk=pk), actor=acting_user(request.user), note=data["note"])
        return Response(LinkOutputSerializer(link_get(product=self.product, pk=pk)).data)


class ItemLinksReviewView(ProductScopedMixin, APIView):
    """Clear every suspect link into or out of an item."""

    write_scope = Scope.ITEMS

    @extend_schema(request=LinkReviewInputSerializer, responses=LinkOutputSerializer(many=True))
    def post(self, request: Request, product_key: str, key: str) -> Response:
        data = valid_input(LinkReviewInputSerializer, request)
        item = item_get(product=self.product, key=key)
        cleared = item_links_review(item=item, actor=acting_user(request.user), note=data["note"])
        links = link_list(product=self.product).filter(pk__in=[link.pk for link in cleared])
        return Response(LinkOutputSerializer(links, many=True).data)


class ClauseLinkListView(ProductListMixin, generics.ListAPIView):
    serializer_class = ClauseLinkOutputSerializer
    filterset_class = ClauseLinkFilter
    write_scope = Scope.ITEMS
    ordering_fields = ["created_at", "item__key"]
    search_fields = ["item__key", "item__title", "clause__number", "clause__title", "note"]
    list_model = ClauseLink

    def scoped_queryset(self) -> QuerySet[ClauseLink]:
        return clause_link_list(product=self.product)

    @extend_schema(request=ClauseLinkCreateInputSerializer, responses={201: ClauseLinkOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(ClauseLinkCreateInputSerializer, request)
        item = item_get(product=self.product, key=data["item"])
        clause = clause_get_by_ref(data["clause"])
        if clause is None:
            raise InvalidInput(f"unknown clause {data['clause']!r} (write standard-slug:number)", field="clause")
        link = clause_link_create(item=item, clause=clause, actor=acting_user(request.user), note=data["note"])
        return Response(
            ClauseLinkOutputSerializer(clause_link_get(product=self.product, pk=link.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ClauseLinkDetailView(ProductScopedMixin, APIView):
    write_scope = Scope.ITEMS

    @extend_schema(responses=ClauseLinkOutputSerializer)
    def get(self, request: Request, product_key: str, pk: int) -> Response:
        return Response(ClauseLinkOutputSerializer(clause_link_get(product=self.product, pk=pk)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, product_key: str, pk: int) -> Response:
        clause_link_delete(clause_link=clause_link_get(product=self.product, pk=pk), actor=acting_user(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
