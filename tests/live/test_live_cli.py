"""`botkit run --live` end to end, as a user runs it: `botkit exchange-sim --trading` in
one process, the bot in another, keys in the environment. Every byte the run wrote is
searched for the keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from .conftest import API_KEY, HMAC_SECRET

STRATEGY = '''
import botkit

class Flipper(botkit.Strategy):
    venue = "binance"
    symbols = ("BTCUSDT",)
    n = 0

    def on_trade(self, trade):
        self.n += 1
        if self.n == 20:
            self.buy("0.002")
        elif self.n == 400:
            self.sell("0.001")
        elif self.n == 500:
            self.buy("0.001", trade.price * 9 / 10)   # still open at the end: cancelled
'''


def _env(**keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTKIT_BINANCE")}
    return {**env, **keys, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(params=["hmac", "ed25519"])
def key_env(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, str], list[bytes]]:
    """The environment holding the keys, and every secret byte string that must never be written."""
    if request.param == "hmac":
        return _env(BOTKIT_BINANCE_API_KEY=API_KEY, BOTKIT_BINANCE_API_SECRET=HMAC_SECRET), [
            API_KEY.encode(), HMAC_SECRET.encode()]
    pem = tmp_path / "key.pem"
    pem_bytes = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pem.write_bytes(pem_bytes)
    body = b"".join(pem_bytes.splitlines()[1:-1])
    return _env(BOTKIT_BINANCE_API_KEY=API_KEY, BOTKIT_BINANCE_PRIVATE_KEY=str(pem)), [API_KEY.encode(), body]


@pytest.fixture
def trading_sim(key_env: tuple[dict[str, str], list[bytes]]) -> Iterator[str]:
    env, _ = key_env
    sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--trading", "--loop", "--speed", "0",
                            "--balance", "USDT=5000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().decode().strip()
        assert url.startswith("ws://127.0.0.1:"), url
        yield url
    finally:
        sim.terminate()
        sim.communicate(timeout=20)


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "botkit", *args], env=env, capture_output=True, timeout=timeout)


def test_a_live_session_writes_no_key_anywhere(tmp_path: Path, key_env: tuple, trading_sim: str) -> None:
    env, secrets = key_env
    strategy = tmp_path / "flipper.py"
    strategy.write_text(STRATEGY)
    report = tmp_path / "report"
    api = trading_sim.replace("/stream", "/ws-api/v3")
    done = _run(["run", str(strategy), "--live", "--url", trading_sim, "--api-url", api, "--duration", "4",
                 "--json", "--report", str(report), "-v"], env)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stderr = done.stderr.decode()
    banner = next(line for line in stderr.splitlines() if line.startswith("botkit: LIVE trading"))
    assert "BTC-USDT on binance spot via ws://127.0.0.1:" in banner and "custom endpoint" in banner
    journal = tmp_path / "journals" / "flipper-Flipper-binance-custom.journal"
    assert banner.endswith(f"; journal {journal} (the default: --journal FILE to choose))")
    summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["trading"]["fills"] == 2
    assert summary["trading"]["live"]["orders_sent"] == 3
    assert summary["trading"]["live"]["not_cancelled"] == []
    # Every file the run wrote: the report and the journal (with its WAL and lock) too.
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".py", ".pem")]
    assert journal in files and len(files) > 3
    written = [done.stdout, done.stderr, *(p.read_bytes() for p in files)]
    for blob in written:
        for secret in secrets:
            assert secret not in blob, "a key was written"
            assert secret[:16] not in blob, "part of a key was written"


def test_missing_keys_are_one_line_and_exit_2(tmp_path: Path) -> None:
    strategy = tmp_path / "flipper.py"
    strategy.write_text(STRATEGY)
    done = _run(["run", str(strategy), "--live", "--api-url", "ws://127.0.0.1:9/ws-api/v3", "--url",
                 "ws://127.0.0.1:9/stream"], _env())
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "botkit: error: live trading needs an API key: set BOTKIT_BINANCE_API_KEY, and BOTKIT_BINANCE_API_SECRET "
        "(HMAC secret) or BOTKIT_BINANCE_PRIVATE_KEY (path of an Ed25519 private key PEM)"]


def test_a_rejected_key_is_one_line_exit_2_and_no_order(tmp_path: Path, key_env: tuple, trading_sim: str) -> None:
    strategy = tmp_path / "flipper.py"
    strategy.write_text(STRATEGY)
    wrong = _env(BOTKIT_BINANCE_API_KEY=API_KEY, BOTKIT_BINANCE_API_SECRET="not-the-secret" * 4)
    done = _run(["run", str(strategy), "--live", "--url", trading_sim, "--api-url",
                 trading_sim.replace("/stream", "/ws-api/v3"), "--duration", "3"], wrong)
    assert done.returncode == 2, done.stderr.decode()
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("botkit: error:")]
    assert errors == [errors[0]] and "the venue refused the API key" in errors[0] and "no order was sent" in errors[0]
    assert "not-the-secret" not in done.stderr.decode()


def test_testnet_and_api_url_need_live(tmp_path: Path) -> None:
    strategy = tmp_path / "flipper.py"
    strategy.write_text(STRATEGY)
    done = _run(["run", str(strategy), "--testnet"], _env())
    assert done.returncode == 2 and b"add --live" in done.stderr


WATCHER = '''
import botkit

class Watcher(botkit.Strategy):
    feeds = (botkit.Feed("binance", "BTCUSDT"), botkit.Feed("okx", "BTC-USDT"))
    channels = ("trades",)
    seen = 0
    sent = False

    def on_trade(self, trade):
        if trade.venue == "okx":
            self.seen += 1
            # The watched venue moves: trade on the traded one (once both feeds are live).
            if self.seen >= 50 and not self.sent and not self.trading_halted:
                self.sent = True
                self.buy("0.001", venue="binance")
                try:
                    self.buy("0.001", venue="okx")
                except botkit.UsageError as exc:
                    self.log.warning("refused: %s", exc)
'''


def test_live_on_several_feeds_trades_binance_and_watches_the_rest(tmp_path: Path, key_env: tuple,
                                                                   trading_sim: str) -> None:
    env, _ = key_env
    strategy = tmp_path / "watcher.py"
    strategy.write_text(WATCHER)
    okx = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--venue", "okx", "--loop", "--speed", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert okx.stdout is not None
        okx_url = okx.stdout.readline().decode().strip()
        done = _run(["run", str(strategy), "--live", "--url", f"binance={trading_sim}", "--url", f"okx={okx_url}",
                     "--api-url", trading_sim.replace("/stream", "/ws-api/v3"), "--duration", "6", "--json"], env)
    finally:
        okx.terminate()
        okx.communicate(timeout=20)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stderr = done.stderr.decode()
    assert "refused: no account on 'okx': this run trades on binance" in stderr
    summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert set(summary["feeds"]) == {"binance", "okx"} and all(f["frames"] > 0 for f in summary["feeds"].values())
    assert summary["trading"]["fills"] == 1 and summary["trading"]["live"]["orders_sent"] == 1
    (held,) = summary["trading"]["positions"].values()  # 0.001 less the fee the venue took in BTC
    assert Decimal("0.00099") <= Decimal(held) <= Decimal("0.001") and "venues" not in summary["trading"]
    assert (tmp_path / "journals" / "watcher-Watcher-binance-custom.journal").is_file()
