from django.urls import path

from traceability.api import approvals, deviations, graph_views, release_views, reports, views
from traceability.api.evidence.urls import urlpatterns as evidence_urlpatterns

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-product-list"),
    path("products/<str:product_key>/", views.ProductDetailView.as_view(), name="api-product-detail"),
    path("products/<str:product_key>/clauses/", views.ProductClauseListView.as_view(), name="api-product-clauses"),
    path("products/<str:product_key>/items/", views.ItemListView.as_view(), name="api-item-list"),
    path("products/<str:product_key>/items/<str:key>/", views.ItemDetailView.as_view(), name="api-item-detail"),
    path(
        "products/<str:product_key>/items/<str:key>/history/", views.ItemHistoryView.as_view(), name="api-item-history"
    ),
    path(
        "products/<str:product_key>/items/<str:key>/approve/",
        approvals.ItemApproveView.as_view(),
        name="api-item-approve",
    ),
    path(
        "products/<str:product_key>/items/<str:key>/signatures/",
        approvals.ItemSignatureListView.as_view(),
        name="api-item-signatures",
    ),
    path(
        "products/<str:product_key>/items/<str:key>/review-links/",
        views.ItemLinksReviewView.as_view(),
        name="api-item-review-links",
    ),
    path("products/<str:product_key>/links/", views.LinkListView.as_view(), name="api-link-list"),
    path("products/<str:product_key>/links/<int:pk>/", views.LinkDetailView.as_view(), name="api-link-detail"),
    path("products/<str:product_key>/links/<int:pk>/review/", views.LinkReviewView.as_view(), name="api-link-review"),
    path(
        "products/<str:product_key>/links/<int:pk>/history/", views.LinkHistoryView.as_view(), name="api-link-history"
    ),
    path("products/<str:product_key>/clause-links/", views.ClauseLinkListView.as_view(), name="api-clause-link-list"),
    path(
        "products/<str:product_key>/clause-links/<int:pk>/",
        views.ClauseLinkDetailView.as_view(),
        name="api-clause-link-detail",
    ),
    path("products/<str:product_key>/deviations/", deviations.DeviationListView.as_view(), name="api-deviation-list"),
    path(
        "products/<str:product_key>/deviations/<int:number>/",
        deviations.DeviationDetailView.as_view(),
        name="api-deviation-detail",
    ),
    path(
        "products/<str:product_key>/deviations/<int:number>/revoke/",
        deviations.DeviationRevokeView.as_view(),
        name="api-deviation-revoke",
    ),
    # releases and the trace engine
    path("products/<str:product_key>/releases/", release_views.ReleaseListView.as_view(), name="api-release-list"),
    path(
        "products/<str:product_key>/releases/<str:version>/",
        release_views.ReleaseDetailView.as_view(),
        name="api-release-detail",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/freeze/",
        release_views.ReleaseFreezeView.as_view(),
        name="api-release-freeze",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/approve/",
        release_views.ReleaseApproveView.as_view(),
        name="api-release-approve",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/signatures/",
        release_views.ReleaseSignatureListView.as_view(),
        name="api-release-signatures",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/release/",
        release_views.ReleaseReleasedView.as_view(),
        name="api-release-release",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/withdraw/",
        release_views.ReleaseWithdrawView.as_view(),
        name="api-release-withdraw",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/status/",
        release_views.ReleaseStatusView.as_view(),
        name="api-release-status",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/matrix/",
        release_views.MatrixView.as_view(),
        name="api-release-matrix",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/matrix/reverse/",
        release_views.ReverseMatrixView.as_view(),
        name="api-release-matrix-reverse",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/risk-trace/",
        release_views.RiskTraceView.as_view(),
        name="api-release-risk-trace",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/gaps/",
        release_views.GapsView.as_view(),
        name="api-release-gaps",
    ),
    path("products/<str:product_key>/matrix/", release_views.MatrixView.as_view(), name="api-matrix"),
    path(
        "products/<str:product_key>/matrix/reverse/",
        release_views.ReverseMatrixView.as_view(),
        name="api-matrix-reverse",
    ),
    path("products/<str:product_key>/risk-trace/", release_views.RiskTraceView.as_view(), name="api-risk-trace"),
    path("products/<str:product_key>/gaps/", release_views.GapsView.as_view(), name="api-gaps"),
    path("products/<str:product_key>/diff/", release_views.DiffView.as_view(), name="api-diff"),
    path(
        "products/<str:product_key>/items/<str:key>/impact/",
        release_views.ItemImpactView.as_view(),
        name="api-item-impact",
    ),
    path(
        "products/<str:product_key>/items/<str:key>/trace/",
        graph_views.ItemTraceView.as_view(),
        name="api-item-trace",
    ),
    path("products/<str:product_key>/orphans/", graph_views.OrphanListView.as_view(), name="api-orphans"),
    path("products/<str:product_key>/cycles/", graph_views.CycleListView.as_view(), name="api-cycles"),
    path(
        "products/<str:product_key>/releases/<str:version>/report.pdf",
        reports.ReleaseReportView.as_view(),
        name="api-release-report-pdf",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/report.xlsx",
        reports.ReleaseWorkbookView.as_view(),
        name="api-release-report-xlsx",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/tables/<str:table>.csv",
        reports.ReleaseTableCsvView.as_view(),
        name="api-release-table-csv",
    ),
    path(
        "products/<str:product_key>/releases/<str:version>/reports/",
        reports.ReleaseReportListView.as_view(),
        name="api-release-report-list",
    ),
]

urlpatterns += evidence_urlpatterns
