"""DSSE envelopes signed with the organisation's attestation key, for admission controllers.

An envelope is ``{"payloadType", "payload": base64(body), "signatures": [{"keyid", "sig"}]}`` and
its signature covers the DSSE pre-authentication encoding ``"DSSEv1" SP len(type) SP type SP
len(body) SP body`` (lengths in bytes, as ASCII decimals): the form cosign and Kyverno verify.

The key is an ECDSA P-256 private key (PEM, ``ATTESTATION_KEY_FILE``). Signatures are ECDSA with
SHA-256, DER-encoded, computed deterministically (RFC 6979): the same payload signed twice gives
the same bytes. Ed25519 is refused: cosign's key-based verification of Ed25519 does not work
reliably (sigstore/cosign#5074), and P-256 is what ``cosign generate-key-pair`` makes.
``keyid`` is the SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo.
"""

import base64
import binascii
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from qms.errors import Unavailable

logger = logging.getLogger(__name__)

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
SIGNING = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
KEY_HINT = "make one with `python manage.py attestation_key --create PATH` and set ATTESTATION_KEY_FILE=PATH"


# --- the key ------------------------------------------------------------------------------------


def attestation_key_pem() -> bytes:
    """A new ECDSA P-256 private key as unencrypted PKCS #8 PEM."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def development_key_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "attestation-key.pem"


def _key_pem() -> tuple[bytes, str]:
    path = getattr(settings, "ATTESTATION_KEY_FILE", "")
    if not path:
        if not settings.DEBUG:
            raise Unavailable(
                "ATTESTATION_KEY_FILE is not set: attestations are signed with the organisation's ECDSA P-256 key, "
                f"kept outside the database ({KEY_HINT})",
                code="attestation_key_missing",
            )
        development = development_key_file()
        if not development.exists():
            development.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(development, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(attestation_key_pem())
            logger.warning("made a development attestation key in %s (DEBUG only)", development)
        path = str(development)
    try:
        return Path(path).read_bytes(), str(path)
    except OSError as exc:
        raise Unavailable(f"ATTESTATION_KEY_FILE {path}: {exc.strerror}", code="attestation_key_missing") from exc


def attestation_private_key() -> ec.EllipticCurvePrivateKey:
    """The organisation's attestation key; ``Unavailable`` (503) when it is not configured or not
    an ECDSA P-256 private key. With DEBUG on and none configured, a development key is made once
    in var/ (never in production)."""
    pem, path = _key_pem()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise Unavailable(
            f"the attestation key {path} is not an unencrypted PEM private key", code="attestation_key_invalid"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise Unavailable(
            f"the attestation key {path} must be an ECDSA P-256 key (what cosign and Kyverno verify); {KEY_HINT}",
            code="attestation_key_invalid",
        )
    return key


def public_key_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo."""
    return hashlib.sha256(public_key_der(public_key)).hexdigest()


# --- envelopes ----------------------------------------------------------------------------------


def dsse_pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of a payload: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


def dsse_sign(*, payload_type: str, body: bytes, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """A DSSE envelope of ``body`` with one deterministic ECDSA P-256 signature."""
    signature = key.sign(dsse_pae(payload_type, body), SIGNING)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}],
    }


def dsse_line(envelope: dict[str, Any]) -> bytes:
    """The envelope as one line of JSON Lines (compact, fields in DSSE order, newline-terminated)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def dsse_verify(envelope: Any, public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The payload of an envelope one of whose signatures verifies with the key; ValueError otherwise."""
    try:
        payload_type = envelope["payloadType"]
        body = base64.b64decode(envelope["payload"], validate=True)
        signatures = list(envelope["signatures"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ValueError(f"not a DSSE envelope ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload_type, str):
        raise ValueError("not a DSSE envelope: payloadType is not a string")
    message = dsse_pae(payload_type, body)
    for entry in signatures:
        try:
            public_key.verify(base64.b64decode(entry["sig"], validate=True), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, KeyError, TypeError, ValueError, binascii.Error):
            continue
        return body
    raise ValueError("no signature of the envelope verifies with the key")
