from django.apps import AppConfig


class StandardsConfig(AppConfig):
    name = "standards"
    verbose_name = "Standards catalogue"
    default_auto_field = "django.db.models.BigAutoField"
