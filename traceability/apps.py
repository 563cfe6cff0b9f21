from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from traceability import integrity  # noqa: F401 - registers the record checks of releases and reports
