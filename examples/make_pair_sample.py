"""Regenerate the shipped two-venue sample (Binance and OKX; deterministic: same seed,
same market).

    python examples/make_pair_sample.py [--seconds 600] [--seed 5] [--out examples/data/...]
"""

import argparse
from pathlib import Path

from botkit.sim._pair_sample import PAIR_SAMPLE_NAME, generate_pair

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=600.0)
parser.add_argument("--seed", type=int, default=5)
parser.add_argument("--out", default=str(Path(__file__).parent / "data" / PAIR_SAMPLE_NAME))
args = parser.parse_args()
counts = generate_pair(args.out, seconds=args.seconds, seed=args.seed)
print(f"wrote {args.out}: " + ", ".join(f"{frames} {venue} frames" for venue, frames in counts.items()))
