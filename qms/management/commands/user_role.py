import getpass
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction

from qms.management.base import DomainCommand
from qms.roles import Role, role_names
from qms.services import user_role_set
from qms.services.users import user_active_set, user_create, user_password_set, user_update


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


class Command(DomainCommand):
    help = (
        "Create a user with a role, change a user's roles, set a password, deactivate or reactivate. "
        "Audited; all or nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "roles", nargs="*", metavar="ROLE", help=f"Replace the user's roles with these: {', '.join(Role.values)}"
        )
        parser.add_argument("--create", action="store_true", help="Create the user (it must not exist yet)")
        parser.add_argument("--email", help="E-mail address")
        parser.add_argument("--name", help="Full name, e.g. 'Alice Smith' (printed on electronic signatures)")
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of standard input"
        )
        password.add_argument(
            "--no-password",
            action="store_true",
            help="With --create: no password, the account cannot sign in (for a CI account that only uses tokens)",
        )
        parser.add_argument("--no-staff", action="store_true", help="With --create: no access to the admin")
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--deactivate", action="store_true", help="The user can no longer sign in or use tokens")
        active.add_argument("--activate", action="store_true", help="Reactivate a deactivated user")
        self.add_actor_argument(parser)

    def _password(self, options: dict[str, Any], *, required: bool) -> str | None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin: standard input held no password")
            return password
        if options["no_password"] or not required:
            return None
        if not sys.stdin.isatty():
            raise CommandError("give the password with --password-stdin (or --no-password), or run in a terminal")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("the two passwords differ; nothing was changed")
        if not password:
            raise CommandError("an empty password is not allowed; nothing was changed")
        return password

    def handle(self, *args: Any, **options: Any) -> None:
        username, roles = options["username"], options["roles"]
        actor = self.actor(options)
        first, last = _split_name(options["name"]) if options["name"] is not None else ("", "")
        with transaction.atomic():
            if options["create"]:
                if options["deactivate"] or options["activate"]:
                    raise CommandError("--create makes an active user; --activate/--deactivate are for existing ones")
                user = user_create(
                    username=username,
                    roles=roles,
                    email=options["email"] or "",
                    first_name=first,
                    last_name=last,
                    password=self._password(options, required=True),
                    is_staff=not options["no_staff"],
                    actor=actor,
                )
                self.stdout.write(f"created {user.get_username()} with role {', '.join(sorted(roles)) or '-'}")
                return
            existing = User.objects.filter(username=username).first()
            if existing is None:
                raise CommandError(f"no user named {username!r} (add --create to create it)")
            user = existing
            if options["no_password"] or options["no_staff"]:
                raise CommandError("--no-password and --no-staff are for --create")
            changes: dict[str, Any] = {}
            if options["email"] is not None:
                changes["email"] = options["email"]
            if options["name"] is not None:
                changes["first_name"], changes["last_name"] = first, last
            acted = bool(roles or changes or options["password_stdin"] or options["deactivate"] or options["activate"])
            if not acted:
                raise CommandError(
                    "say what to change: ROLE..., --email, --name, --password-stdin, --deactivate or --activate"
                )
            if changes:
                user_update(user=user, actor=actor, **changes)
            if roles:
                user_role_set(user=user, roles=roles, actor=actor)
            if options["password_stdin"]:
                user_password_set(user=user, password=self._password(options, required=True), actor=actor)
            if options["deactivate"] or options["activate"]:
                user_active_set(user=user, is_active=bool(options["activate"]), actor=actor)
            user.refresh_from_db()
            current = role_names(user)
            state = "active" if user.is_active else "deactivated"
            self.stdout.write(f"{user.get_username()}: {state}, roles {', '.join(current) or '-'}")
