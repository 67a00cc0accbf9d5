"""Backtests on recordings with a real feed's mix (``bench/mix.py``: the 2024 Binance
spot capture's shape, and a futures depth@0ms feed where deltas dominate), with a
strategy that reads its book on every delta: botkit from the raw frames, NautilusTrader
on its own types built beforehand, hftbacktest as the reference row, in one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .mix import BOOK_READER, make_mix_recording


def _peer(module: str, data: Path) -> tuple[float, str] | str:
    """(events/s, unit) of ``module.run_mix(data)`` in a process of its own, or why not."""
    code = f"import json; from bench import {module}; print(json.dumps({module}.run_mix({str(data)!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return f"failed: {out.stderr.strip()[-200:]}"
    _, rate, unit = json.loads(out.stdout.strip().splitlines()[-1])[0]
    return (rate, unit) if rate == rate else unit


def run(events: int = 200_000, repeat: int = 3) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        strategy = Path(tmp) / "book_reader.py"
        strategy.write_text(BOOK_READER)
        for kind in ("spot", "futures"):
            data = Path(tmp) / f"{kind}.txt.gz"
            counts = make_mix_recording(data, events, kind)
            mix = ", ".join(f"{k} {v / events:.0%}" for k, v in counts.items())
            ours, theirs = [], []
            for _ in range(repeat):  # taking turns: a slow spell falls on both sides
                ours.append(_events_per_s(strategy, data))
                theirs.append(_peer("nautilus", data))
            rate = sorted(ours)[len(ours) // 2]
            rows.append((f"real mix {kind} ({mix}): botkit backtest, book reader", rate,
                         "events/s (raw frames; target >= 1M)"))
            if all(not isinstance(t, str) for t in theirs):
                their_rate, unit = sorted(theirs)[len(theirs) // 2]  # type: ignore[type-var]
                rows.append((f"real mix {kind}: NautilusTrader, book reader (pre-built data)", their_rate, unit))
                rows.append((f"real mix {kind}: botkit / NautilusTrader", rate / their_rate, "ratio (target >= 2.5)"))
            else:
                rows.append((f"real mix {kind}: NautilusTrader", float("nan"), str(theirs[0])))
            reference = _peer("hft", data)
            if isinstance(reference, str):
                rows.append((f"real mix {kind}: hftbacktest", float("nan"), reference))
            else:
                rows.append((f"real mix {kind}: hftbacktest (Rust core, numba loop), best bid/ask per feed",
                             *reference))
    return rows


def _events_per_s(strategy: Path, data: Path) -> float:
    """Events per second of one ``botkit backtest --json`` run."""
    code = "import sys; from botkit.cli._main import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run([sys.executable, "-c", code, "backtest", str(strategy), "--data", str(data), "--json", "-q"],
                         capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    return sum(summary["events_by_type"].values()) / summary["elapsed_s"]

