from django.apps import AppConfig


class QmsConfig(AppConfig):
    name = "qms"
    verbose_name = "Quality system"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from qms import deploy_checks  # noqa: F401 - registers the checks of check --deploy
        from qms.integrity import signatures  # noqa: F401 - registers the record check of signatures
