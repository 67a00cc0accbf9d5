"""Where a backtested trade's time goes: the replay path's stages, each measured on the
same frames in one run, as nanoseconds per frame (cumulative, then the step's share).

Stages, each including the ones above it:

1. msgspec typed decode of the frame (the parse limit);
2. ``BinanceSpotParser.parse``: decode + range checks + the ``Trade`` event;
3. ``FrameDecoder.decode``: + trade-id sequencing (gaps, duplicates);
4. the replay loop on in-memory ``<ts> <frame>`` lines: + line split, timestamp, batching.

The last row, from the end-to-end backtest rows of the same run, adds the file (gzip,
read in a worker thread), the bus, the engine's dispatch and the strategy.
"""

from __future__ import annotations

import msgspec

from botkit.protocol import BinanceSpotParser, FrameDecoder
from botkit.protocol.binance._messages import TradeMsg, combined

from ._util import median_rate, trade_frames


def run(n: int = 200_000) -> list[tuple[str, float]]:
    """``(stage, ns per frame)`` rows, cumulative."""
    frames = trade_frames(n)
    # Contiguous trade ids, as a real feed sends them, so sequencing takes its common path.
    lines = [b"%d %s" % (1_723_161_600_000_000_000 + i, f) for i, f in enumerate(frames)]
    decode = msgspec.json.Decoder(combined(TradeMsg)).decode

    def typed() -> int:
        for f in frames:
            decode(f)
        return n

    def parse() -> int:
        parse = BinanceSpotParser().parse
        for i, f in enumerate(frames):
            parse(f, i)
        return n

    def sequenced() -> int:
        decode = FrameDecoder(BinanceSpotParser()).decode
        for i, f in enumerate(frames):
            decode(f, i)
        return n

    def replay_loop() -> int:
        # The per-line work of ReplaySource.stream, without the file and the bus.
        decoder = FrameDecoder(BinanceSpotParser())
        decode, batch = decoder.decode, []
        for line in lines:
            ts_text, _, frame = line.partition(b" ")
            if not ts_text.isdigit() or not frame:
                raise ValueError(line)
            events = decode(frame, int(ts_text))
            if events:
                batch += events
            if len(batch) >= 1024:
                batch = []
        return n

    stages = [("msgspec typed decode (the limit)", typed), ("+ checks, Trade event: parser.parse", parse),
              ("+ trade-id sequencing: FrameDecoder.decode", sequenced),
              ("+ line split, timestamp, batching: replay loop", replay_loop)]
    return [(name, 1e9 / median_rate(fn)) for name, fn in stages]
