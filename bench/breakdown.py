"""Where a backtested trade's time goes: the replay path's stages, each measured on the
same frames in one run, as nanoseconds per frame (cumulative, then the step's share).

Stages, each including the ones above it:

1. msgspec typed decode of the frame (the parse limit);
2. ``BinanceSpotParser.parse``: decode + range checks + the ``Trade`` event;
3. ``FrameDecoder.decode``: + trade-id sequencing (gaps, duplicates);
4. the replay loop on an in-memory block of ``<ts> <frame>`` lines, as ``ReplaySource``
   runs it: with the compiled path, runs of trade lines are scanned, decoded, checked,
   sequenced and built in C (``FrameDecoder.decode_run``), so this stage can cost
   less than stage 3, which takes a frame at a time through the Python API.

The last row, from the end-to-end backtest rows of the same run, adds the file (gzip,
read in a worker thread), the bus, the engine's dispatch and the strategy.
"""

from __future__ import annotations

import msgspec

from botkit.protocol import BinanceSpotParser, FrameDecoder
from botkit.protocol.binance._messages import TradeMsg, combined
from botkit.sources._replay import replay_decoder

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

    block = b"\n".join(lines) + b"\n"

    def replay_loop() -> int:
        # The per-line work of ReplaySource over one block of lines, without the file and
        # the bus: compiled runs of trade lines, the general path for any other line.
        decoder = replay_decoder(BinanceSpotParser())
        batch: list = []
        pos, size = 0, len(block)
        while pos < size:
            pos, _ = decoder.decode_run(block, pos, size, batch, 1024)
            if len(batch) >= 1024:
                batch = []
            if pos >= size:
                break
            end = block.find(b"\n", pos, size)
            ts_text, _, frame = block[pos:end].partition(b" ")
            pos = end + 1
            batch += decoder.decode(frame, int(ts_text))
        return n

    stages = [("msgspec typed decode (the limit)", typed), ("+ checks, Trade event: parser.parse", parse),
              ("+ trade-id sequencing: FrameDecoder.decode", sequenced),
              ("replay loop over a block of lines (compiled runs)", replay_loop)]
    return [(name, 1e9 / median_rate(fn)) for name, fn in stages]
