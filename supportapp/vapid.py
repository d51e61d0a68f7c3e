"""VAPID keys (RFC 8292) for Web Push: generation, parsing and the formats pywebpush expects.

The public key is the base64url (unpadded) uncompressed P-256 point — what a browser's
`pushManager.subscribe({applicationServerKey})` takes. The private key is kept as the base64url
(unpadded) 32-byte raw scalar, which pywebpush's `Vapid.from_string` reads; PEM and base64url
DER are accepted as input and normalised to that.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    value = "".join(value.split())
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def generate_key_pair() -> tuple[str, str]:
    """(public key, private key), both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return public_key_of(key), _raw_private(key)


def load_private_key(value: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, base64url raw (32 bytes) or base64url DER."""
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            data = b64url_decode(text)
            if len(data) == 32:
                key = ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a P-256 private key (PEM or base64url)") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("must be a P-256 (prime256v1) key")
    return key


def normalize_private_key(value: str) -> str:
    """Any accepted private key format → base64url raw scalar."""
    return _raw_private(load_private_key(value))


def normalize_public_key(value: str) -> str:
    """A base64url uncompressed P-256 point, validated, without padding."""
    try:
        data = b64url_decode(value)
        if len(data) != 65 or data[0] != 4:
            raise ValueError("length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except (ValueError, TypeError) as exc:
        raise ValueError("must be a base64url uncompressed P-256 public key (65 bytes)") from exc
    return b64url_encode(data)


def public_key_of(key: ec.EllipticCurvePrivateKey | str) -> str:
    if isinstance(key, str):
        key = load_private_key(key)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(point)


def _raw_private(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
