"""The optional compiled hot paths, or ``None`` where they are not built.

Five C modules, one job each: ``protocol/_cframes.c`` splits the WebSocket reader's
common frames, ``protocol/binance/_ctrades.c`` turns Binance trade frames into events,
``sources/_clines.c`` runs recording lines through the latter, ``protocol/_cbook.c``
applies level changes to an order book side and builds depth levels from their text,
``protocol/binance/_carchive.c`` turns rows of Binance's trade archives into events.
Everything they do has a pure-Python twin that stays the reference: the tests run both
and compare.
``BOTKIT_PURE_PYTHON=1`` turns them off at run time (to compare, or to rule them out
when chasing a problem).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

__all__ = ["HotPath", "RowDecoder", "TradeDecoder", "available", "build_events", "load", "split_frames",
           "text_levels", "update_side"]


def load(name: str) -> ModuleType | None:
    """The compiled module ``name``, or None (not built, or ``BOTKIT_PURE_PYTHON`` set)."""
    if os.environ.get("BOTKIT_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # not built (no C compiler at install time): pure Python
        return None


_frames = load("botkit.protocol._cframes")
_trades = load("botkit.protocol.binance._ctrades")
_book = load("botkit.protocol._cbook")
_archive = load("botkit.protocol.binance._carchive")
RowDecoder: Any = _archive.RowDecoder if _archive is not None else None
build_events: Any = _archive.build if _archive is not None else None
update_side: Any = _book.update_side if _book is not None else None
text_levels: Any = _book.text_levels if _book is not None else None
split_frames: Any = _frames.split_frames if _frames is not None else None
TradeDecoder: Any = _trades.TradeDecoder if _trades is not None else None
HotPath: Any = _trades.HotPath if _trades is not None else None
#: The modules a build with a C compiler makes.
MODULES = ("botkit.protocol._cframes", "botkit.protocol.binance._ctrades", "botkit.sources._clines",
           "botkit.protocol._cbook", "botkit.protocol.binance._carchive")


def available() -> bool:
    """True when every compiled module is built and in use."""
    return all(load(name) is not None for name in MODULES)
