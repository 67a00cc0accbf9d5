"""Regenerate the shipped sample recordings (deterministic: same seed, same market).

    python examples/make_sample.py [--seconds 900] [--seed 7] [--out examples/data/...]
    python examples/make_sample.py --pair [--seconds 600] [--seed 5] [--out ...]   # Binance + OKX
"""

import argparse
from pathlib import Path

from botkit.sim._pair_sample import PAIR_SAMPLE_NAME, generate_pair
from botkit.sim._sample import SAMPLE_NAME, generate

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--pair", action="store_true", help="the two-venue sample (Binance and OKX, with lead-lag)")
parser.add_argument("--seconds", type=float, help="default 900 (--pair: 600)")
parser.add_argument("--seed", type=int, help="default 7 (--pair: 5)")
parser.add_argument("--out", help="default: the shipped file in examples/data/")
args = parser.parse_args()
out = args.out or str(Path(__file__).parent / "data" / (PAIR_SAMPLE_NAME if args.pair else SAMPLE_NAME))
if args.pair:
    counts = generate_pair(out, seconds=args.seconds or 600.0, seed=5 if args.seed is None else args.seed)
    print(f"wrote {out}: " + ", ".join(f"{frames} {venue} frames" for venue, frames in counts.items()))
else:
    trades, quotes = generate(out, seconds=args.seconds or 900.0, seed=7 if args.seed is None else args.seed)
    print(f"wrote {out}: {trades} trades, {quotes} quotes")
