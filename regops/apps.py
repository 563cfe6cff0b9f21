from django.apps import AppConfig


class RegopsConfig(AppConfig):
    name = "regops"
    verbose_name = "RegOps"
    default_auto_field = "django.db.models.BigAutoField"
