from django.urls import path

from standards.api import views

urlpatterns = [
    path("standards/", views.StandardListView.as_view(), name="api-standard-list"),
    path("standards/<slug:slug>/", views.StandardDetailView.as_view(), name="api-standard-detail"),
    path("standards/<slug:slug>/clauses/", views.ClauseListView.as_view(), name="api-clause-list"),
    path("clauses/applicable/", views.ApplicableClauseListView.as_view(), name="api-clauses-applicable"),
    path("clause-mappings/", views.ClauseMappingListView.as_view(), name="api-clause-mapping-list"),
]
