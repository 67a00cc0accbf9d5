"""Keys come from the environment or a PEM file and never show."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat

from botkit import ConfigError
from botkit.live._keys import KeySettings, load_credentials

KEY, SECRET = "k" * 64, "s" * 64


def _pem(tmp_path: Path, password: bytes | None = None) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    enc = BestAvailableEncryption(password) if password else NoEncryption()
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, enc))
    return path, key


def test_hmac_keys_from_the_environment() -> None:
    creds = load_credentials({"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_API_SECRET": SECRET})
    assert creds.kind == "hmac" and creds.api_key == KEY
    assert KEY not in repr(creds) and SECRET not in repr(creds) and "BOTKIT_BINANCE_API_SECRET" in repr(creds)


def test_an_ed25519_key_from_a_pem_file(tmp_path: Path) -> None:
    path, key = _pem(tmp_path)
    creds = load_credentials({"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(path)})
    assert creds.kind == "ed25519"
    key.public_key().verify(__import__("base64").b64decode(creds.signer.sign("x=1")), b"x=1")


def test_an_encrypted_pem_needs_its_password(tmp_path: Path) -> None:
    path, _ = _pem(tmp_path, b"pw-123")
    env = {"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(path)}
    with pytest.raises(ConfigError, match="encrypted: set BOTKIT_BINANCE_PRIVATE_KEY_PASSWORD"):
        load_credentials(env)
    assert load_credentials({**env, "BOTKIT_BINANCE_PRIVATE_KEY_PASSWORD": "pw-123"}).kind == "ed25519"


def test_the_config_can_name_other_variables_and_the_file(tmp_path: Path) -> None:
    path, _ = _pem(tmp_path)
    creds = load_credentials({"MY_KEY": KEY}, KeySettings(api_key_env="MY_KEY", private_key_file=str(path)))
    assert creds.kind == "ed25519" and str(path) in repr(creds)


@pytest.mark.parametrize(("env", "message"), [
    ({}, "live trading needs an API key: set BOTKIT_BINANCE_API_KEY"),
    ({"BOTKIT_BINANCE_API_KEY": KEY}, "its secret is not: set BOTKIT_BINANCE_API_SECRET"),
    ({"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_API_SECRET": SECRET, "BOTKIT_BINANCE_PRIVATE_KEY": "/x.pem"},
     "either HMAC or Ed25519"),
    ({"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_PRIVATE_KEY": "/nonexistent/key.pem"}, "cannot read"),
])
def test_missing_or_wrong_keys_are_one_line_without_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_credentials(env)
    text = str(info.value)
    assert "\n" not in text and KEY not in text and SECRET not in text


def test_a_pem_that_is_not_an_ed25519_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n")
    ec = tmp_path / "ec.pem"
    ec.write_bytes(generate_private_key(SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    for path, message in ((garbage, "not a PEM private key"), (ec, "botkit signs with Ed25519")):
        with pytest.raises(ConfigError, match=message) as info:
            load_credentials({"BOTKIT_BINANCE_API_KEY": KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(path)})
        assert "c2VjcmV0" not in str(info.value)
