from django.urls import path

from traceability import views

urlpatterns = [
    path("", views.ProductListPage.as_view(), name="product-list"),
    path("p/<str:product_key>/", views.ProductPage.as_view(), name="product-detail"),
    path("p/<str:product_key>/items/", views.ItemListPage.as_view(), name="item-list"),
    path("p/<str:product_key>/items/<str:key>/", views.ItemPage.as_view(), name="item-detail"),
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
