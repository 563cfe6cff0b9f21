"""'Nothing was written': the row count of every table the app owns (sessions aside)."""

from django.apps import apps

APPS = ("admin", "auth", "qms", "standards", "traceability", "regops", "django_tasks_database")


def db_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in APPS and not model._meta.proxy
    }
