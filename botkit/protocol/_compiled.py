"""The optional compiled hot path (``_speedups.c``), or ``None`` where it is not built.

Everything it does has a pure-Python twin that stays the reference: the tests run both
and compare. ``BOTKIT_PURE_PYTHON=1`` turns it off at run time (to compare, or to rule
it out when chasing a problem).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["HotPath", "TradeDecoder", "available", "split_frames"]

TradeDecoder: Any = None
HotPath: Any = None
split_frames: Any = None
if not os.environ.get("BOTKIT_PURE_PYTHON"):
    try:
        from . import _speedups
    except ImportError:  # not built (no C compiler at install time): pure Python
        pass
    else:
        TradeDecoder, HotPath, split_frames = _speedups.TradeDecoder, _speedups.HotPath, _speedups.split_frames


def available() -> bool:
    """True when the compiled trade path is in use."""
    return TradeDecoder is not None
