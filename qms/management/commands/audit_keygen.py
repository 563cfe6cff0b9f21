import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from qms.integrity.keys import key_id, private_key_pem, public_key_pem


class Command(BaseCommand):
    help = (
        "Make the audit trail's secrets: print a new AUDIT_KEY and write a new Ed25519 checkpoint key (PEM, "
        "mode 0600) and its public key. Keep both away from database administrators (21 CFR 11.10(c))."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key_file", help="Where to write the checkpoint private key (must not exist)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["key_file"])
        if path.exists():
            raise CommandError(f"{path} exists already; a key is never overwritten")
        pem = private_key_pem()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as handle:
                path.chmod(0o600)
                handle.write(pem)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        key = serialization.load_pem_private_key(pem, password=None)
        public = key.public_key()
        public_path = path.with_name(path.name.removesuffix(".pem") + ".pub.pem")
        public_path.write_bytes(public_key_pem(public))  # type: ignore[arg-type]
        self.stdout.write(f"AUDIT_KEY={secrets.token_hex(32)}")
        self.stdout.write(f"AUDIT_CHECKPOINT_KEY_FILE={path.resolve()}")
        self.stdout.write(f"# public key {key_id(public)} (for verifying hosts): {public_path.resolve()}")  # type: ignore[arg-type]
