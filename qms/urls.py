from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from qms import views as account_views
from qms.api.permissions import RolePermission

api_v1 = [
    path("", include("qms.api.urls")),
    path("", include("standards.api.urls")),
    path("", include("traceability.api.urls")),
    path("", include("regops.api.urls")),
]

handler500 = "qms.views.server_error"  # a lost database is a 503; the API never answers with an HTML page

# Django's account pages (django.contrib.auth.urls), with audited password changes and resets;
# the reset pages answer 404 unless e-mail is configured.
accounts = [
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", account_views.PasswordChangePage.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", account_views.PasswordResetPage.as_view(), name="password_reset"),
    path("password_reset/done/", account_views.PasswordResetDonePage.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", account_views.PasswordResetConfirmPage.as_view(), name="password_reset_confirm"),
    path("reset/done/", account_views.PasswordResetCompletePage.as_view(), name="password_reset_complete"),
]

admin.autodiscover()  # the admin registry is filled here, not at start-up (commands stay lean)

urlpatterns = [
    # the admin's own password change is the audited one above
    path("admin/password_change/", RedirectView.as_view(pattern_name="password_change")),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
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
