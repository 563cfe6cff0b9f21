from django.urls import path

from traceability.api import reports, views

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
        "products/<str:product_key>/items/<str:key>/review-links/",
        views.ItemLinksReviewView.as_view(),
        name="api-item-review-links",
    ),
    path("products/<str:product_key>/links/", views.LinkListView.as_view(), name="api-link-list"),
    path("products/<str:product_key>/links/<int:pk>/", views.LinkDetailView.as_view(), name="api-link-detail"),
    path("products/<str:product_key>/links/<int:pk>/review/", views.LinkReviewView.as_view(), name="api-link-review"),
    path("products/<str:product_key>/clause-links/", views.ClauseLinkListView.as_view(), name="api-clause-link-list"),
    path(
        "products/<str:product_key>/clause-links/<int:pk>/",
        views.ClauseLinkDetailView.as_view(),
        name="api-clause-link-detail",
    ),
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
