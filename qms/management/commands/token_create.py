from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from qms.roles import Scope
from qms.services import token_create


class Command(DomainCommand):
    help = "Create an API token for a user (for CI: --scope evidence). Prints the key once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="A name for the token, e.g. gitlab-ci")
        parser.add_argument(
            "--scope", action="append", default=[], choices=Scope.values, help="Scope the token may write (repeat)"
        )
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        _, key = token_create(user=user, name=options["name"], scopes=options["scope"], actor=self.actor(options))
        self.stdout.write(key)
