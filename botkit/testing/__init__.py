"""Helpers for testing strategies and sources (needs ``hypothesis`` for the strategies).

* :func:`trades`, :func:`quotes`, :func:`events`: hypothesis strategies for events.
"""

from ._hypothesis import book_deltas, events, quotes, trades

__all__ = ["book_deltas", "events", "quotes", "trades"]
