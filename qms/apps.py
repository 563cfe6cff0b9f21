from django.apps import AppConfig


class QmsConfig(AppConfig):
    name = "qms"
    verbose_name = "Quality system"
    default_auto_field = "django.db.models.BigAutoField"
