"""Regenerate the shipped sample recording (deterministic: same seed, same bytes).

    python examples/make_sample.py [--seconds 900] [--seed 7] [--out examples/data/...]
"""

import argparse
from pathlib import Path

from botkit.sim._sample import SAMPLE_NAME, generate

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=900.0)
parser.add_argument("--seed", type=int, default=7)
parser.add_argument("--out", default=str(Path(__file__).parent / "data" / SAMPLE_NAME))
args = parser.parse_args()
trades, quotes = generate(args.out, seconds=args.seconds, seed=args.seed)
print(f"wrote {args.out}: {trades} trades, {quotes} quotes")
