"""API keys for live trading: read from the environment (or files the config names), held
so that they never show.

The key pair comes from environment variables, by default ``BOTKIT_BINANCE_API_KEY``
with either ``BOTKIT_BINANCE_API_SECRET`` (an HMAC key) or ``BOTKIT_BINANCE_PRIVATE_KEY``
(the path of an Ed25519 private key PEM; ``BOTKIT_BINANCE_PRIVATE_KEY_PASSWORD`` if it is
encrypted). The ``[live]`` config section may name other variables or the PEM file,
never hold a key. Nothing here puts a key in a message: errors name the variable or the
file, and :class:`Credentials` shows only its kind and where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import attrs
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .._exceptions import ConfigError
from ..protocol.binance._signing import Ed25519Signer, HmacSigner, Signer

__all__ = ["API_KEY_ENV", "API_SECRET_ENV", "PRIVATE_KEY_ENV", "Credentials", "KeySettings", "load_credentials"]

API_KEY_ENV = "BOTKIT_BINANCE_API_KEY"
API_SECRET_ENV = "BOTKIT_BINANCE_API_SECRET"
PRIVATE_KEY_ENV = "BOTKIT_BINANCE_PRIVATE_KEY"
_PEM_LIMIT = 64 * 1024


@attrs.frozen
class KeySettings:
    """Where the keys are: environment variable names, or the PEM file (``[live]``)."""

    api_key_env: str = API_KEY_ENV
    api_secret_env: str = API_SECRET_ENV
    private_key_env: str = PRIVATE_KEY_ENV
    #: The Ed25519 PEM's path, instead of ``private_key_env``.
    private_key_file: str | None = None


@attrs.frozen(repr=False, eq=False)
class Credentials:
    """An API key and its signer. ``repr`` shows the kind and the source, nothing else.

    :ivar api_key: the public half, sent with every signed request (still kept out of
        logs: it names the account).
    :ivar signer: signs with the secret half.
    :ivar source: where they came from, in words safe to print.
    """

    api_key: str
    signer: Signer
    source: str

    @property
    def kind(self) -> str:
        """``"hmac"`` or ``"ed25519"`` (only Ed25519 keys can log a session on)."""
        return self.signer.kind

    def __repr__(self) -> str:
        return f"Credentials({self.kind} key from {self.source})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials hold a secret key and are not picklable")


def load_credentials(env: Mapping[str, str], settings: KeySettings | None = None) -> Credentials:
    """The keys ``settings`` point at, read from ``env`` (and the PEM file).

    :raises ConfigError: one line naming what is missing or unreadable, never a key.
    """
    settings = settings or KeySettings()
    key_var = settings.api_key_env
    api_key = env.get(key_var, "").strip()
    pem_path = settings.private_key_file or env.get(settings.private_key_env, "").strip()
    secret = env.get(settings.api_secret_env, "").strip()
    where = (f"{settings.private_key_env} (path of an Ed25519 private key PEM)" if not settings.private_key_file
             else f"private_key_file = {settings.private_key_file}")
    if not api_key:
        raise ConfigError(f"live trading needs an API key: set {key_var}, and {settings.api_secret_env} "
                          f"(HMAC secret) or {where}")
    if not pem_path and not secret:
        raise ConfigError(f"{key_var} is set but its secret is not: set {settings.api_secret_env} (HMAC secret) "
                          f"or {where}")
    if pem_path and secret:
        raise ConfigError(f"both {settings.api_secret_env} and {where} are set: an API key is either HMAC or "
                          "Ed25519; unset the one that does not belong to it")
    if secret:
        return Credentials(api_key, HmacSigner(secret), f"${key_var} + ${settings.api_secret_env}")
    password_var = f"{settings.private_key_env}_PASSWORD"
    key = _read_pem(pem_path, env.get(password_var), password_var)
    return Credentials(api_key, Ed25519Signer(key), f"${key_var} + {pem_path}")


def _read_pem(path: str, password: str | None, password_var: str) -> Ed25519PrivateKey:
    file = Path(path).expanduser()
    try:
        with file.open("rb") as handle:
            data = handle.read(_PEM_LIMIT + 1)
    except OSError as exc:
        raise ConfigError(f"private key {path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > _PEM_LIMIT:
        raise ConfigError(f"private key {path}: larger than {_PEM_LIMIT} bytes, not a PEM key")
    try:
        key = load_pem_private_key(data, password.encode() if password else None)
    except TypeError:
        raise ConfigError(f"private key {path} is encrypted: set {password_var}") from None
    except ValueError:
        # The library's message may quote the file; ours does not.
        raise ConfigError(f"private key {path}: not a PEM private key (or the wrong password)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"private key {path}: a {type(key).__name__.removeprefix('_')} key; botkit signs with "
                          "Ed25519 keys (or an HMAC secret)")
    return key
