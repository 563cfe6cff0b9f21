from django.urls import path

from traceability.api.evidence import views, webhooks

P = "products/<str:product_key>"

urlpatterns = [
    path(f"{P}/junit/", views.JunitUploadView.as_view(), name="api-junit-upload"),
    path(f"{P}/test-runs/", views.TestRunListView.as_view(), name="api-test-run-list"),
    path(f"{P}/test-runs/<int:pk>/", views.TestRunDetailView.as_view(), name="api-test-run-detail"),
    path(f"{P}/test-results/", views.TestResultListView.as_view(), name="api-test-result-list"),
    path(f"{P}/manual-executions/", views.ManualExecutionView.as_view(), name="api-manual-executions"),
    path(f"{P}/artifacts/", views.ArtifactListView.as_view(), name="api-artifact-list"),
    path(f"{P}/commits/", views.CommitListView.as_view(), name="api-commit-list"),
    path(f"{P}/commits/<str:sha>/", views.CommitDetailView.as_view(), name="api-commit-detail"),
    path(f"{P}/webhook-secret/", views.WebhookSecretView.as_view(), name="api-webhook-secret"),
    path("webhooks/github/<str:product_key>/", webhooks.GithubWebhookView.as_view(), name="api-webhook-github"),
    path("webhooks/gitlab/<str:product_key>/", webhooks.GitlabWebhookView.as_view(), name="api-webhook-gitlab"),
]
