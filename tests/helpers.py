"""Small builders shared by the tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import botkit
from botkit.cli._main import main
from botkit.protocol.binance import encode_quote, encode_trade
from botkit.sources import RecordingWriter

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def trade(i: int, *, ts: int | None = None, symbol: str = "BTC-USDT", price: str = "100.00") -> botkit.Trade:
    ts = T0 + i * MS if ts is None else ts
    return botkit.Trade("binance", symbol, Decimal(price), Decimal("0.5"), botkit.Side.BUY, i, ts // MS * MS, ts,
                        symbol.replace("-", ""))


def quote(i: int, *, ts: int | None = None, symbol: str = "BTC-USDT") -> botkit.Quote:
    ts = T0 + i * MS if ts is None else ts
    return botkit.Quote("binance", symbol, Decimal("99.99"), Decimal(1), Decimal("100.01"), Decimal(2), i, 0, ts,
                        symbol.replace("-", ""))


def write_recording(path: Path, events: list[botkit.Trade | botkit.Quote], *, extra: list[bytes] = ()) -> Path:
    """Record ``events`` as Binance frames (plus ``extra`` raw lines appended)."""
    with RecordingWriter(path, {"venue": "binance"}) as out:
        for event in events:
            frame = encode_trade(event) if isinstance(event, botkit.Trade) else encode_quote(event)
            out.write(event.ts_recv, frame)
    if extra:
        assert not str(path).endswith(".gz")
        with open(path, "ab") as fh:
            fh.writelines(line + b"\n" for line in extra)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """``botkit ARGV...`` in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
