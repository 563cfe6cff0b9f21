from django.urls import path

from traceability import trace_views, views

urlpatterns = [
    path("", views.ProductListPage.as_view(), name="product-list"),
    path("p/<str:product_key>/", views.ProductPage.as_view(), name="product-detail"),
    path("p/<str:product_key>/items/", views.ItemListPage.as_view(), name="item-list"),
    path("p/<str:product_key>/items/<str:key>/", views.ItemPage.as_view(), name="item-detail"),
    path("p/<str:product_key>/items/<str:key>/review/", views.ItemReviewAction.as_view(), name="item-review"),
    path("p/<str:product_key>/matrix/", trace_views.MatrixPage.as_view(), name="matrix"),
    path("p/<str:product_key>/gaps/", trace_views.GapsPage.as_view(), name="gaps"),
    path("p/<str:product_key>/releases/<str:version>/", trace_views.ReleasePage.as_view(), name="release-detail"),
    path(
        "p/<str:product_key>/releases/<str:version>/<str:action>/",
        trace_views.ReleaseActionView.as_view(),
        name="release-action",
    ),
    path(
        "p/<str:product_key>/releases/<str:version>/report.pdf",
        views.ReleaseReportDownload.as_view(),
        name="release-report-pdf",
    ),
    path(
        "p/<str:product_key>/releases/<str:version>/report.xlsx",
        views.ReleaseWorkbookDownload.as_view(),
        name="release-report-xlsx",
    ),
]
