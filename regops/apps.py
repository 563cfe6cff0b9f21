from django.apps import AppConfig


class RegopsConfig(AppConfig):
    name = "regops"
    verbose_name = "RegOps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from regops import integrity  # noqa: F401 - registers the record checks of the ledger and deployments
        from regops.services import approvals  # noqa: F401 - registers G4 before the release approval (G5)
