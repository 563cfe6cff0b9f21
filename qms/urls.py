from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from qms.api.permissions import RolePermission

api_v1 = [
    path("", include("qms.api.urls")),
    path("", include("standards.api.urls")),
    path("", include("traceability.api.urls")),
]

admin.autodiscover()  # the admin registry is filled here, not at start-up (commands stay lean)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[RolePermission]), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[RolePermission]),
        name="api-docs",
    ),
    path("", include("traceability.urls")),
]
