"""Base for the project's management commands: domain errors become a message and exit code 1."""

import getpass
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from qms.errors import DomainError


class DomainCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def add_actor_argument(self, parser: Any) -> None:
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="USERNAME",
            help="User recorded in the audit trail (default: 'system')",
        )

    def actor(self, options: dict[str, Any]) -> User | None:
        username = options.get("actor")
        if not username:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return user

    def add_password_argument(self, parser: Any) -> None:
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the signer's password from the first line of standard input (else it is asked for)",
        )

    def signing_password(self, options: dict[str, Any]) -> str:
        """The signer's password for an electronic signature: re-entered for every signing."""
        if options.get("password_stdin"):
            password = sys.stdin.readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = getpass.getpass("Password (to sign): ")
        else:
            raise CommandError("give the signer's password with --password-stdin, or run in a terminal")
        if not password:
            raise CommandError("no password given; nothing was signed")
        return password
