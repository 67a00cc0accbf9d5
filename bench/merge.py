"""A backtest merging two recordings (``--data A --data B``) beside a backtest of the same
trades in one recording: the merge's cost per event, and its memory as the files grow.

The baseline holds both recordings' trades in one file, interleaved as the merge
delivers them: the same events through one decoder, so the ratio is what reading them
from two files costs (two decoders taking turns, and the merge itself). Beside it, one
side of a pair alone (about as many trades of one symbol), the baseline the ratio was
first measured against.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

from botkit.sources import RecordingWriter

from ._util import trade_frames
from .backtest import COUNTING, _backtest_once, _median

_T0 = 1_723_161_600_000_000_000
_MS = 1_000_000


def make_pair(first: Path, second: Path, n: int, seed: int = 3, *, both: Path | None = None) -> None:
    """``n`` trades at 1 ms steps shared between two recordings (BTCUSDT and ETHUSDT) in
    bursts, as two venues' feeds take turns: runs of mean length 4 on either side (and
    all of them, in time order, in ``both``)."""
    rng = random.Random(seed)
    chunk = 100_000
    ids = [3_735_683_259, 1_200_000_000]
    with contextlib.ExitStack() as files:
        a, b = (files.enter_context(RecordingWriter(p, {"venue": "binance"})) for p in (first, second))
        c = files.enter_context(RecordingWriter(both, {"venue": "binance"})) if both is not None else None
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
                if c is not None:
                    c.write(_T0 + (start + i) * _MS, frame)


def run(n: int = 1_000_000, repeat: int = 3) -> list[tuple[str, float, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        counting = Path(tmp) / "counting.py"
        counting.write_text(COUNTING)
        pairs = {}
        for size in (n, 2 * n):
            pairs[size] = (Path(tmp) / f"a-{size}.txt.gz", Path(tmp) / f"b-{size}.txt.gz")
        together = Path(tmp) / "both.txt.gz"
        make_pair(*pairs[n], n, both=together)
        make_pair(*pairs[2 * n], 2 * n)
        ones, sides, merged = [], [], []
        first, second = pairs[n]
        alone = pairs[2 * n][0]  # about n trades too: one side of the bigger pair
        for _ in range(repeat):  # taking turns: a slow spell falls on all
            ones.append(_backtest_once(counting, together))
            sides.append(_backtest_once(counting, alone))
            merged.append(_backtest_once(counting, first, ("--data", str(second))))
        one_rate, one_rss, _ = _median(ones)
        side_rate, side_rss, _ = _median(sides)
        rate, rss, _ = _median(merged)
        first, second = pairs[2 * n]
        _, rss_double, _ = _backtest_once(counting, first, ("--data", str(second)))
        rows.append((f"backtest of the same {n:,} trades in one recording, counting", one_rate,
                     f"trades/s, peak RSS {one_rss:.0f} MB"))
        rows.append((f"backtest {n:,} trades merged from two recordings (--data twice)", rate,
                     f"trades/s, peak RSS {rss:.0f} MB ({2 * n:,} merged: {rss_double:.0f} MB)"))
        rows.append(("merged / one recording", rate / one_rate, "ratio (target >= 0.8)"))
        rows.append((f"backtest of one market alone (one side of a pair, about {n:,} trades)", side_rate,
                     f"trades/s, peak RSS {side_rss:.0f} MB"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
