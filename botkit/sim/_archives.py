"""Synthetic Binance data archives, in the venue's own layout and formats: what tests
and the bench serve and replay in place of data.binance.vision.

Each archive is a zip of one CSV (rows as Binance writes them: no header for spot,
a header row where ``header``) beside its ``.CHECKSUM`` (``<sha256>  <name>``), under
``data/<market>/<daily|monthly>/<kind>/<SYMBOL>/[<interval>/]``. Times are milliseconds,
or microseconds where ``micro`` (Binance spot from 2025 on). A seeded
:class:`random.Random` per file: the same arguments give the same rows.
"""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from ..protocol.binance._archive import archive_path

__all__ = ["write_archive"]

_DAY_MS = 86_400_000
_ROUND_SIZES = ("0.00010", "0.00020", "0.00050", "0.00100", "0.00200", "0.00500", "0.01000", "0.02000", "0.05000",
                "0.10000")
_HEADERS = {
    "trades": "id,price,qty,quote_qty,time,is_buyer_maker",
    "aggTrades": "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
    "klines": "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
              "taker_buy_quote_volume,ignore",
}


def write_archive(root: str | Path, kind: str, symbol: str, day: str, *, rows: int = 1_000, market: str = "spot",
                  micro: bool | None = None, header: bool = False, seed: int = 1, first_id: int = 1,
                  start_price: float = 60_000.0) -> Path:
    """Write one day's archive (``day`` ``YYYY-MM-DD``) and its checksum under ``root``;
    returns the zip's path. ``kind``: ``trades``, ``aggTrades`` or ``klines-1m`` (a
    kline a minute: ``rows`` is then ignored). ``micro`` defaults to Binance's own rule
    (spot from 2025-01-01)."""
    start_ms = int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp() * 1000)
    if micro is None:
        micro = market == "spot" and day >= "2025-01-01"
    scale = 1_000 if micro else 1
    rng = random.Random(f"{seed}-{kind}-{symbol}-{day}")
    lines = [_HEADERS[kind.split("-")[0]]] if header else []
    price = start_price
    if kind.startswith("klines-"):
        for minute in range(1440):
            o = price
            price *= 1 + rng.gauss(0, 0.0005)
            high, low = max(o, price) * 1.0002, min(o, price) * 0.9998
            opened = (start_ms + minute * 60_000) * scale
            closed = (start_ms + minute * 60_000 + 59_999) * scale + (999 if micro else 0)
            lines.append(f"{opened},{o:.2f},{high:.2f},{low:.2f},{price:.2f},{rng.uniform(1, 50):.5f},{closed},"
                         f"{price * 10:.5f},{rng.randint(10, 900)},{rng.uniform(0, 1):.5f},{price:.5f},0")
    else:
        step = _DAY_MS // max(rows, 1)
        ticks = round(price * 100)
        for i in range(rows):
            # As a market trades: prices a few ticks apart (they repeat), sizes often round.
            ticks = max(100, ticks + round(rng.gauss(0, 1.5)))
            price = ticks / 100
            size = rng.choice(_ROUND_SIZES) if rng.random() < 0.5 else f"{max(rng.lognormvariate(-6, 1.2), 1e-5):.5f}"
            ts = (start_ms + i * step) * scale + (rng.randint(0, 999) if micro else 0)
            maker = "True" if rng.random() < 0.5 else "False"
            tid = first_id + i
            if kind == "trades":
                lines.append(f"{tid},{price:.2f},{size},{price * float(size):.8f},{ts},{maker}" +
                             (",True" if market == "spot" else ""))
            else:
                lines.append(f"{tid},{price:.2f},{size},{tid * 3},{tid * 3 + 2},{ts},{maker}" +
                             (",True" if market == "spot" else ""))
    target = Path(root) / archive_path(market, kind, symbol, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(target.with_suffix(".csv").name, "\n".join(lines) + "\n")
    target.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    target.with_name(target.name + ".CHECKSUM").write_text(f"{digest}  {target.name}\n")
    return target
