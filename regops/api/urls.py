from django.urls import path

from regops.api import gitops, views

P = "products/<str:product_key>"

urlpatterns = [
    path(f"{P}/environments/", views.EnvironmentListView.as_view(), name="api-environment-list"),
    path(f"{P}/environments/<str:environment>/", views.EnvironmentDetailView.as_view(), name="api-environment-detail"),
    path(f"{P}/environments/<str:environment>/gate/", views.GateView.as_view(), name="api-gate"),
    path(f"{P}/deployments/", views.DeploymentListView.as_view(), name="api-deployment-list"),
    path(f"{P}/deployments/argocd/", gitops.ArgoCdNotificationView.as_view(), name="api-deployment-argocd"),
    path(f"{P}/webhooks/flux/", gitops.FluxWebhookView.as_view(), name="api-webhook-flux"),
    path(f"{P}/deployments/<int:pk>/", views.DeploymentDetailView.as_view(), name="api-deployment-detail"),
    path(f"{P}/running/", views.RunningView.as_view(), name="api-running"),
    path(f"{P}/gate-decisions/", views.GateDecisionListView.as_view(), name="api-gate-decision-list"),
    path(f"{P}/releases/<str:version>/gates/", views.ReleaseGatesView.as_view(), name="api-release-gates"),
    path(
        f"{P}/releases/<str:version>/integration-approval/",
        views.IntegrationApprovalView.as_view(),
        name="api-release-integration-approval",
    ),
    path(
        f"{P}/releases/<str:version>/attestations/release-approval.intoto.jsonl",
        views.ReleaseApprovalAttestationView.as_view(),
        name="api-release-approval-attestation",
    ),
]
