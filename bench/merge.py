"""A backtest merging two recordings (``--data A --data B``) beside a backtest of one of
them alone: the merge's cost per event, and its memory as the files grow. (Each file has
a decoder of its own either way, with its own decimal cache, as two venues' feeds do.)"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from botkit.sources import RecordingWriter

from ._util import trade_frames
from .backtest import COUNTING, _backtest_once, _median

_T0 = 1_723_161_600_000_000_000
_MS = 1_000_000


def make_pair(first: Path, second: Path, n: int, seed: int = 3) -> None:
    """``n`` trades at 1 ms steps shared between two recordings (BTCUSDT and ETHUSDT) in
    bursts, as two venues' feeds take turns: runs of mean length 4 on either side."""
    rng = random.Random(seed)
    chunk = 100_000
    ids = [3_735_683_259, 1_200_000_000]
    with RecordingWriter(first, {"venue": "binance"}) as a, RecordingWriter(second, {"venue": "binance"}) as b:
        side = 0
        for start in range(0, n, chunk):
            for i, frame in enumerate(trade_frames(min(chunk, n - start), seed=start)):
                if rng.random() < 0.25:
                    side = 1 - side
                ids[side] += 1
                frame = frame.replace(b'"t":%d' % (3_735_683_259 + i), b'"t":%d' % ids[side], 1)
                if side:
                    frame = frame.replace(b"btcusdt@", b"ethusdt@").replace(b'"BTCUSDT"', b'"ETHUSDT"')
                (b if side else a).write(_T0 + (start + i) * _MS, frame)


def run(n: int = 1_000_000, repeat: int = 3) -> list[tuple[str, float, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        counting = Path(tmp) / "counting.py"
        counting.write_text(COUNTING)
        pairs = {}
        for size in (n, 2 * n):
            pairs[size] = (Path(tmp) / f"a-{size}.txt.gz", Path(tmp) / f"b-{size}.txt.gz")
            make_pair(*pairs[size], size)
        ones, merged = [], []
        first, second = pairs[n]
        alone = pairs[2 * n][0]  # about n trades too: one side of the bigger pair
        for _ in range(repeat):  # taking turns: a slow spell falls on both
            ones.append(_backtest_once(counting, alone))
            merged.append(_backtest_once(counting, first, ("--data", str(second))))
        one_rate, one_rss, _ = _median(ones)
        rate, rss, _ = _median(merged)
        first, second = pairs[2 * n]
        _, rss_double, _ = _backtest_once(counting, first, ("--data", str(second)))
        rows.append((f"backtest of one recording alone (one side of a pair, about {n:,} trades), counting", one_rate,
                     f"trades/s, peak RSS {one_rss:.0f} MB"))
        rows.append((f"backtest {n:,} trades merged from two recordings (--data twice)", rate,
                     f"trades/s, peak RSS {rss:.0f} MB ({2 * n:,} merged: {rss_double:.0f} MB)"))
        rows.append(("merged / one recording", rate / one_rate, "ratio (target >= 0.8)"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
