"""The Strategy base class: the whole contract a strategy author writes against.

Engine plumbing lives in ``_runner.py``; here are only the hooks and the helpers.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ._events import Bar, BookDelta, BookSnapshot, FeedStatus, Gap, Quote, Timer, Trade
from ._exceptions import UsageError

if TYPE_CHECKING:
    from ._runner import StrategyRunner

__all__ = ["CHANNELS", "Strategy"]

#: Channel name -> event types it delivers, and the hook that receives them.
CHANNELS: dict[str, tuple[tuple[type, ...], str]] = {
    "trades": ((Trade,), "on_trade"),
    "quotes": ((Quote,), "on_quote"),
    "books": ((BookSnapshot, BookDelta), "on_book"),
    "bars": ((Bar,), "on_bar"),
}

_ZERO = Decimal(0)


class Strategy:
    """Subclass this and override the hooks you need; each may be ``def`` or ``async def``.

    Example::

        import botkit

        class Printer(botkit.Strategy):
            symbols = ("BTCUSDT",)
            channels = ("trades",)

            def on_start(self):
                self.set_timer("heartbeat", 60.0, repeat=True)

            def on_trade(self, trade):
                self.log.info("%s %s @ %s", trade.side.value, trade.size, trade.price)

            def on_timer(self, timer):
                self.log.info("last price %s", self.last_price())

    Hooks receive one typed event each and should return quickly: the engine calls
    them one at a time, in event order, on its event loop (never block in them).

    Class attributes declare the subscription:

    :cvar venue: venue name (``"binance"``).
    :cvar symbols: venue symbols to receive, e.g. ``("BTCUSDT",)``; empty: every symbol
        in the feed.
    :cvar channels: any of ``"trades"``, ``"quotes"``, ``"books"``, ``"bars"``; empty:
        the channels whose hooks this class overrides.
    """

    #: Bumped when the hook contract changes, so old strategies can be recognised.
    INTERFACE_VERSION: ClassVar[int] = 1

    venue: ClassVar[str] = "binance"
    symbols: ClassVar[tuple[str, ...]] = ()
    channels: ClassVar[tuple[str, ...]] = ()

    _bk: StrategyRunner | None = None

    # -- hooks (all optional) -------------------------------------------------------

    def on_start(self) -> Any:
        """Called once, when the engine clock is known (first event in a backtest)."""

    def on_trade(self, trade: Trade) -> Any:
        """Called for every public trade on the subscribed symbols."""

    def on_quote(self, quote: Quote) -> Any:
        """Called for top-of-book updates (may be conflated when the strategy lags)."""

    def on_book(self, book: BookSnapshot | BookDelta) -> Any:
        """Called for L2 book snapshots and deltas."""

    def on_bar(self, bar: Bar) -> Any:
        """Called for OHLCV bars."""

    def on_timer(self, timer: Timer) -> Any:
        """Called when a timer set with :meth:`set_timer` is due."""

    def on_status(self, status: FeedStatus) -> Any:
        """Called when a feed's connection changes state (e.g. goes down)."""

    def on_gap(self, gap: Gap) -> Any:
        """Called when the feed skipped exchange sequence ids (missed trades)."""

    def on_stop(self) -> Any:
        """Called once at the end: data exhausted, Ctrl-C, or a fatal error."""

    # -- helpers ----------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Engine time in ns: wall time live, event time in a backtest."""
        return self._runner.clock.now_ns()

    @property
    def log(self) -> logging.Logger:
        """A logger named ``botkit.strategy.<ClassName>``."""
        return self._runner.log

    @property
    def trading_halted(self) -> bool:
        """True while the risk task has halted trading (see :attr:`halt_reason`)."""
        return self._runner.risk.halted

    @property
    def halt_reason(self) -> str:
        """Why trading is halted ("" when it is not)."""
        return self._runner.risk.halt_reason

    def last_price(self, symbol: str | None = None) -> Decimal | None:
        """Price of the latest trade seen for ``symbol`` (default: the first symbol)."""
        return self._runner.last_prices.get(symbol or self._default_symbol())

    def position(self, symbol: str | None = None) -> Decimal:
        """Current net position in ``symbol`` (base units; negative is short)."""
        return self._runner.positions.get(symbol or self._default_symbol(), _ZERO)

    def set_timer(self, name: str, interval_s: float, *, repeat: bool = False) -> None:
        """Fire :meth:`on_timer` after ``interval_s`` seconds of engine time.

        Setting a timer with a name already in use replaces it.

        :raises UsageError: if ``interval_s`` is not positive.
        """
        if not interval_s > 0:
            raise UsageError(f"timer {name!r}: interval_s must be > 0, got {interval_s!r}")
        self._runner.timers.set(name, int(interval_s * 1e9), repeat, self.now_ns)

    def cancel_timer(self, name: str) -> bool:
        """Cancel a timer; returns False if there was none by that name."""
        return self._runner.timers.cancel(name)

    def stop(self, reason: str = "requested by strategy") -> None:
        """Ask the engine to stop after the current event; :meth:`on_stop` still runs."""
        self._runner.request_stop(reason)

    # -- internals --------------------------------------------------------------------

    @property
    def _runner(self) -> StrategyRunner:
        if self._bk is None:
            raise UsageError(
                f"{type(self).__name__} is not attached to an engine yet; "
                "use the helpers from on_start() or later hooks, not from __init__"
            )
        return self._bk

    def _default_symbol(self) -> str:
        if self.symbols:
            return self.symbols[0]
        raise UsageError(f"{type(self).__name__} declares no symbols; pass the symbol explicitly")
