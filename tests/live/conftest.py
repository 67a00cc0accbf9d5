"""A trading simulator and keys for the live-trading tests."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from botkit.live._keys import Credentials, load_credentials
from botkit.sim import ExchangeSimulator, sample_path
from botkit.sim._trading import SimAccount, TradingVenue

API_KEY = "TESTKEY" + "k" * 57
HMAC_SECRET = "TESTSECRET" + "s" * 54


@pytest.fixture(params=["hmac", "ed25519"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Credentials, SimAccount, dict[str, str]]:
    """Credentials as the bot loads them from the environment, and the simulator's
    account that knows them (10,000 USDT)."""
    balances = {"USDT": Decimal(10_000), "BTC": Decimal(0)}
    if request.param == "hmac":
        env = {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_API_SECRET": HMAC_SECRET}
        account = SimAccount(API_KEY, hmac_secret=HMAC_SECRET.encode(), balances=balances)
    else:
        key = Ed25519PrivateKey.generate()
        pem = tmp_path / "botkit-test-key.pem"
        pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        env = {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(pem)}
        account = SimAccount(API_KEY, public_key=key.public_key(), balances=balances)
    return load_credentials(env), account, env


def trading_sim(account: SimAccount, **options: object) -> tuple[ExchangeSimulator, TradingVenue, str]:
    """The simulator serving the sample with a trading venue: (sim, venue, ws-api URL)."""
    venue = TradingVenue([account], **options)  # type: ignore[arg-type]
    sim = ExchangeSimulator(str(sample_path()), speed=0, trading=venue)
    url = sim.listen()
    return sim, venue, url.replace("/stream", "/ws-api/v3")


Sim = Callable[..., tuple[ExchangeSimulator, TradingVenue, str]]
