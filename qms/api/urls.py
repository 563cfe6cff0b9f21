from django.urls import path

from qms.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit-events/", views.AuditEventListView.as_view(), name="api-audit-event-list"),
    path("tokens/", views.TokenListView.as_view(), name="api-token-list"),
    path("tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
]
