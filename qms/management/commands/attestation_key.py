from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.management.base import CommandError

from qms.integrity.dsse import attestation_key_pem, attestation_private_key, key_id, public_key_pem
from qms.management.base import DomainCommand


class Command(DomainCommand):
    help = (
        "The organisation's attestation key (ECDSA P-256) that signs release-approval attestations. "
        "--create PATH writes a new key (mode 0600) and its public key beside it; --public prints the "
        "configured key's public key (PEM) for Kyverno and cosign; without options, the key in use and its id."
    )

    def add_arguments(self, parser: Any) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--create", metavar="PATH", help="Write a new private key there (must not exist)")
        action.add_argument("--public", action="store_true", help="Print the configured public key (PEM)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["create"]:
            self.create(Path(options["create"]))
            return
        key = attestation_private_key()
        public = key.public_key()
        if options["public"]:
            self.stdout.write(public_key_pem(public), ending="")
            return
        self.stdout.write(f"ATTESTATION_KEY_FILE={settings.ATTESTATION_KEY_FILE or '(development key in var/)'}")
        self.stdout.write(f"keyid {key_id(public)} (ECDSA P-256)")

    def create(self, path: Path) -> None:
        if path.exists():
            raise CommandError(f"{path} exists already; a key is never overwritten")
        pem = attestation_key_pem()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as handle:
                path.chmod(0o600)
                handle.write(pem)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        public = key.public_key()
        public_path = path.with_name(path.name.removesuffix(".pem") + ".pub.pem")
        public_path.write_text(public_key_pem(public))
        self.stdout.write(f"ATTESTATION_KEY_FILE={path.resolve()}")
        self.stdout.write(f"# keyid {key_id(public)}; public key for Kyverno and cosign: {public_path.resolve()}")
