from typing import Any

from qms.management.base import DomainCommand
from qms.services.accounts import account_unlock


class Command(DomainCommand):
    help = (
        "Unlock an account locked after too many failed sign-ins or signatures (quality managers). "
        "Audited (user.unlocked)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = account_unlock(username=options["username"], actor=self.actor(options))
        self.stdout.write(f"{user.get_username()}: unlocked")
