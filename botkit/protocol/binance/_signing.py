"""Signing Binance requests: the payload, HMAC-SHA256 and Ed25519 (sans-IO, no clock).

Binance's WebSocket API signs ``params`` (all but ``signature``) sorted by name and
joined as ``name=value`` with ``&``, UTF-8, no percent-encoding. HMAC keys give a hex
signature, Ed25519 keys a base64 one (``web-socket-api.md``, "SIGNED request example").
Only an Ed25519 key can ``session.logon`` (then requests need no signature at all).

A signer holds its key and never shows it: ``repr``, ``str`` and pickling give nothing
of it away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["Ed25519Signer", "HmacSigner", "Signer", "ed25519_verify", "signature_payload", "signed"]


def _text(value: object) -> str:
    if type(value) is str:  # most parameters: the per-order signing path
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def signature_payload(params: Mapping[str, object]) -> str:
    """The text a WebSocket API request's signature covers: ``params`` but ``signature``,
    sorted by name, as ``name=value`` pairs joined by ``&``."""
    return "&".join(f"{name}={_text(params[name])}" for name in sorted(params) if name != "signature")


class Signer(Protocol):
    """Signs a payload with an API key's secret half."""

    #: ``"hmac"`` or ``"ed25519"``.
    kind: str

    def sign(self, payload: str) -> str:
        """The signature of ``payload`` (UTF-8), as Binance expects it."""
        ...

    def verify(self, payload: str, signature: str) -> bool:
        """Whether ``signature`` is this key's signature of ``payload``."""
        ...


class _Hidden:
    """Keeps key material out of reprs, logs and pickles."""

    kind = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{self.kind} key hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds a secret key and is not picklable")


class HmacSigner(_Hidden):
    """HMAC-SHA256 with the API secret; hex digest."""

    kind = "hmac"
    __slots__ = ("_secret",)

    def __init__(self, secret: str | bytes) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)

    def sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def verify(self, payload: str, signature: str) -> bool:
        """Whether ``signature`` signs ``payload`` (HMAC signatures are case-insensitive)."""
        return hmac.compare_digest(self.sign(payload), signature.lower())


class Ed25519Signer(_Hidden):
    """Ed25519 with the private key; base64 signature."""

    kind = "ed25519"
    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode("ascii")

    def verify(self, payload: str, signature: str) -> bool:
        """Whether ``signature`` signs ``payload`` (checked with the public key)."""
        return ed25519_verify(self._key.public_key(), payload, signature)


def ed25519_verify(key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    """Whether the base64 ``signature`` is ``key``'s signature of ``payload``."""
    try:
        key.verify(base64.b64decode(signature, validate=True), payload.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def signed(params: Mapping[str, object], api_key: str, signer: Signer, timestamp_ms: int,
           recv_window_ms: int | None = None) -> dict[str, object]:
    """``params`` with ``apiKey``, ``timestamp`` (and ``recvWindow``) added and signed."""
    out: dict[str, object] = dict(params)
    out["apiKey"] = api_key
    out["timestamp"] = timestamp_ms
    if recv_window_ms is not None:
        out["recvWindow"] = recv_window_ms
    out["signature"] = signer.sign(signature_payload(out))
    return out
