from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from qms.api.permissions import RolePermission

api_v1 = [
    path("", include("qms.api.urls")),
    path("", include("standards.api.urls")),
    path("", include("traceability.api.urls")),
]

handler500 = "qms.views.server_error"  # a lost database is a 503; the API never answers with an HTML page

admin.autodiscover()  # the admin registry is filled here, not at start-up (commands stay lean)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[RolePermission]), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves the start-up script as a file (?script), the page's style comes from
        # a static file: no inline script or style under the Content-Security-Policy.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[RolePermission], template_name="qms/api_docs.html"
        ),
        name="api-docs",
    ),
    path("", include("traceability.urls")),
]
