from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"
    default_auto_field = "django.db.models.BigAutoField"
