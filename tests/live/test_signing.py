"""Signing reproduces Binance's own examples byte for byte (``web-socket-api.md``,
"SIGNED request example (HMAC)" and "(Ed25519)"; ``fix-api.md`` for the one Ed25519
private key Binance publishes)."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from botkit.protocol.binance._signing import Ed25519Signer, HmacSigner, signature_payload, signed

HMAC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
HMAC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ED_KEY = "4yNzx3yWC5bS6YTwEkSRaC0nRmSQIIStAUOh1b6kqaBrTLIhjCpI5lJH8q8R8WNO"
# fix-api.md, "Logon <A>" signature example: Binance's published Ed25519 test key.
FIX_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u
-----END PRIVATE KEY-----
"""


def _ascii(api_key: str) -> dict[str, object]:
    return {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01000000",
            "price": "52000.00", "recvWindow": 100, "timestamp": 1645423376532, "apiKey": api_key}


def _unicode(api_key: str) -> dict[str, object]:
    return {"symbol": "１２３４５６", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1.00000000",
            "price": "0.10000000", "recvWindow": 5000, "timestamp": 1645423376532, "apiKey": api_key}


def test_the_payload_is_the_documented_one() -> None:
    assert signature_payload(_ascii(HMAC_KEY)) == (
        "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&quantity=0.01000000"
        "&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT")
    assert signature_payload({**_unicode(ED_KEY), "signature": "ignored"}) == (
        "apiKey=4yNzx3yWC5bS6YTwEkSRaC0nRmSQIIStAUOh1b6kqaBrTLIhjCpI5lJH8q8R8WNO&price=0.10000000&quantity=1.00000000"
        "&recvWindow=5000&side=BUY&symbol=１２３４５６&timeInForce=GTC&timestamp=1645423376532&type=LIMIT")


@pytest.mark.parametrize(("params", "expected"), [
    (_ascii(HMAC_KEY), "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"),
    (_unicode(HMAC_KEY), "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"),
])
def test_hmac_reproduces_the_documented_signatures(params: dict[str, object], expected: str) -> None:
    assert HmacSigner(HMAC_SECRET).sign(signature_payload(params)) == expected


def test_ed25519_reproduces_binances_published_example() -> None:
    # The WebSocket API's Ed25519 examples do not publish their private key; the FIX
    # logon example does, and the signing step (Ed25519 over the UTF-8 payload, base64)
    # is the same one.
    signer = Ed25519Signer(load_pem_private_key(FIX_PEM, None))  # type: ignore[arg-type]
    payload = "\x01".join(["A", "EXAMPLE", "SPOT", "1", "20240627-11:17:25.223"])
    assert signer.sign(payload) == (
        "4MHXelVVcpkdwuLbl6n73HQUXUf1dse2PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==")


def test_signed_adds_key_time_and_signature() -> None:
    params = {k: v for k, v in _ascii(HMAC_KEY).items() if k not in ("apiKey", "timestamp", "recvWindow")}
    out = signed(params, HMAC_KEY, HmacSigner(HMAC_SECRET), 1645423376532, 100)
    assert out["signature"] == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    assert out["apiKey"] == HMAC_KEY and out["timestamp"] == 1645423376532


@pytest.mark.parametrize("signer", [HmacSigner(HMAC_SECRET), Ed25519Signer(load_pem_private_key(FIX_PEM, None))])  # type: ignore[arg-type]
def test_a_signer_never_shows_its_key(signer: HmacSigner | Ed25519Signer) -> None:
    shown = repr(signer) + str(signer) + f"{signer}"
    assert HMAC_SECRET not in shown and "MC4CAQAw" not in shown and "hidden" in shown
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(signer)
