"""The Strategy base class: the whole contract a strategy author writes against.

Engine plumbing lives in ``_runner.py``; here are only the hooks and the helpers, which
reach the engine through the :class:`StrategyContext` the runner attaches.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import attrs

from ._books import Books
from ._clock import Clock
from ._events import Bar, BookDelta, BookSnapshot, FeedStatus, Gap, Quote, Side, Timer, Trade
from ._exceptions import UsageError
from ._orders import Fill, Order, OrderUpdate, TimeInForce
from ._symbols import normalise_symbol
from ._timers import Timers
from .execution._market import MarketState
from .execution._portfolio import Portfolio
from .execution._risk import RiskManager
from .execution._router import OrderRouter
from .protocol._book import OrderBook

__all__ = ["CHANNELS", "HOOKS", "Feed", "Strategy", "StrategyContext", "attach", "strategy_feeds"]

_ZERO = Decimal(0)

#: Channel name -> event types it delivers, and the hook that receives them.
CHANNELS: dict[str, tuple[tuple[type, ...], str]] = {
    "trades": ((Trade,), "on_trade"),
    "quotes": ((Quote,), "on_quote"),
    "books": ((BookSnapshot, BookDelta), "on_book"),
    "bars": ((Bar,), "on_bar"),
}


#: Every hook the engine calls.
HOOKS = frozenset({"on_start", "on_stop", "on_timer", "on_status", "on_gap", "on_order", "on_fill",
                   *(hook for _, hook in CHANNELS.values())})


class StrategyContext(Protocol):
    """What a strategy's helpers use of the engine (the strategy runner provides it)."""

    clock: Clock
    risk: RiskManager
    market: MarketState
    books: Books
    router: OrderRouter
    timers: Timers
    log: logging.Logger
    state: dict[str, Any]
    restored: bool

    def request_stop(self, reason: str) -> None:
        """Stop after the current event (first reason wins)."""

    def venue_market(self, venue: str) -> MarketState:
        """What ``venue``'s market last showed; UsageError for a venue not watched."""


def _names(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class Feed:
    """One venue's market data a strategy watches: a strategy naming several in
    :attr:`Strategy.feeds` sees all of them, each event carrying its ``venue``.

    Example::

        feeds = (botkit.Feed("binance", ("BTC-USDT",)), botkit.Feed("coinbase", ("BTC-USD",)))

    :param venue: the venue's name (``botkit run --venue`` names).
    :param symbols: its symbols, any spelling.
    :param channels: its channels; empty: the strategy's.
    """

    venue: str
    symbols: tuple[str, ...] = attrs.field(default=(), converter=_names)
    channels: tuple[str, ...] = attrs.field(default=(), converter=_names)


def strategy_feeds(strategy: Strategy | type[Strategy]) -> tuple[Feed, ...]:
    """The feeds a strategy watches: its :attr:`~Strategy.feeds`, else the one of its
    ``venue``, ``symbols`` and ``channels``."""
    if strategy.feeds:
        return tuple(strategy.feeds)
    return (Feed(strategy.venue or "binance", strategy.symbols, strategy.channels),)


def attach(strategy: Strategy, context: StrategyContext) -> None:
    """Bind ``strategy``'s helpers to an engine (done by the engine, once per run)."""
    strategy._bk = context


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
    :cvar symbols: symbols to receive, in any spelling (``"BTC-USDT"``, ``"BTCUSDT"``):
        events carry the normalised one (``event.symbol == "BTC-USDT"``); empty: every symbol
        in the feed.
    :cvar channels: any of ``"trades"``, ``"quotes"``, ``"books"``, ``"bars"``; empty:
        the channels whose hooks this class overrides.
    :cvar feeds: several venues at once, one :class:`Feed` each (venue, symbols,
        channels), in place of ``venue`` and ``symbols``; events carry their venue, and
        the strategy trades on each from an account of its own there.
    """

    #: Bumped when the hook contract changes, so old strategies can be recognised.
    INTERFACE_VERSION: ClassVar[int] = 1

    venue: ClassVar[str] = "binance"
    symbols: ClassVar[tuple[str, ...]] = ()
    channels: ClassVar[tuple[str, ...]] = ()
    feeds: ClassVar[tuple[Feed, ...]] = ()

    _bk: StrategyContext | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A class naming its feeds gets ``venue`` and ``symbols`` from them (unless it
        # sets them too): the first feed's venue, every feed's symbols; so whatever
        # reads those (the default symbol, the account's quote asset, a one-feed run)
        # sees the feeds.
        super().__init_subclass__(**kwargs)
        feeds = cls.__dict__.get("feeds")
        if not feeds or not isinstance(feeds, tuple | list) or not all(isinstance(f, Feed) for f in feeds):
            return
        if "venue" not in cls.__dict__:
            cls.venue = feeds[0].venue
        if "symbols" not in cls.__dict__:
            cls.symbols = tuple(dict.fromkeys(symbol for feed in feeds for symbol in feed.symbols))
        if len(feeds) == 1 and feeds[0].channels and "channels" not in cls.__dict__:
            cls.channels = feeds[0].channels

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

    def on_order(self, update: OrderUpdate) -> Any:
        """Called when one of your orders changes state (submitted, accepted, rejected
        with a reason, partially filled, filled, cancelled)."""

    def on_fill(self, fill: Fill) -> Any:
        """Called for each execution of one of your orders (the position is already updated)."""

    def on_stop(self) -> Any:
        """Called once at the end: data exhausted, Ctrl-C, or a fatal error. Orders sent
        here still execute (in a backtest, at the last known quotes); whatever remains
        open afterwards is cancelled."""

    # -- helpers ----------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Engine time in ns: wall time live, event time in a backtest."""
        return (self._bk or self._runner).clock.now_ns()

    @property
    def log(self) -> logging.Logger:
        """A logger named ``botkit.strategy.<ClassName>``."""
        return self._runner.log

    @property
    def trading_halted(self) -> bool:
        """True while the risk task has halted trading (see :attr:`halt_reason`)."""
        return (self._bk or self._runner).risk.halted

    @property
    def halt_reason(self) -> str:
        """Why trading is halted ("" when it is not)."""
        return self._runner.risk.halt_reason

    def last_price(self, symbol: str | None = None, venue: str | None = None) -> Decimal | None:
        """Price of the latest trade seen for ``symbol`` (default: the first symbol) on
        ``venue`` (default: on any venue the strategy watches).

        :raises UsageError: ``venue`` is not one the strategy watches.
        """
        context = self._bk or self._runner
        market = context.market if venue is None else context.venue_market(venue)
        return market.last_prices.get(self._symbol(symbol))

    def order_book(self, symbol: str | None = None, venue: str | None = None) -> OrderBook | None:
        """The order book of ``symbol`` (default: the first symbol) on ``venue`` (default:
        the only venue with a book of it), kept by the engine from the ``books``
        channel's events: as the events delivered so far left it (in ``on_book``, with
        the event just applied). None before the first snapshot and after a book gap
        until the next one. Read it, don't change it."""
        return (self._bk or self._runner).books.get(self._symbol(symbol), venue)

    def position(self, symbol: str | None = None, venue: str | None = None) -> Decimal:
        """Current net position in ``symbol`` (base units; negative is short) on ``venue``
        (default: summed over the venues the strategy trades on).

        :raises UsageError: ``venue`` is not one the strategy trades on.
        """
        router = (self._bk or self._runner).router
        portfolio = router.portfolio if venue is None else router.account(venue).portfolio
        pos = portfolio.positions.get(self._symbol(symbol))
        return pos.size if pos is not None else _ZERO

    @property
    def state(self) -> dict[str, Any]:
        """The strategy's own values that outlive the process: JSON values only (str, int,
        float, bool, None, lists, dicts with str keys). With a journal (``--journal``)
        they are saved after ``on_start``, at each fill (with it, atomically), at each
        timer tick and at the stop, and put back here when the run restarts; without one
        it is a plain dict."""
        return self._runner.state

    @property
    def restored(self) -> bool:
        """True when this run continues a journaled one: positions, open orders and
        :attr:`state` came back from the journal (and, live, were reconciled with the
        venue) before ``on_start``."""
        return self._runner.restored

    @property
    def portfolio(self) -> Portfolio:
        """Cash per asset, positions (average price, realised P&L, fees): read it, don't
        change it. A strategy trading several venues gets their sum here and each
        venue's account from :meth:`portfolio_on`."""
        return self._runner.router.portfolio

    def portfolio_on(self, venue: str) -> Portfolio:
        """The account on ``venue``: its cash and positions alone (cash and positions do
        not move between exchanges by themselves). Read it, don't change it.

        :raises UsageError: ``venue`` is not one the strategy trades on.
        """
        return self._runner.router.account(venue).portfolio

    def buy(self, size: Decimal | int | str, price: Decimal | int | str | None = None, *,
            symbol: str | None = None, post_only: bool = False, ioc: bool = False,
            venue: str | None = None) -> str:
        """Buy ``size`` (base units): a market order, or a limit order at ``price``.

        Size is rounded down to the lot, price down to the tick. Every order passes the
        risk gate; a rejection arrives in :meth:`on_order` with the reason.

        :param post_only: reject instead of taking liquidity (limit orders only).
        :param ioc: immediate-or-cancel (limit orders): cancel what does not fill at once.
        :param venue: where the order goes (default: the strategy's venue, the first feed's).
        :returns: the client order id (for :meth:`cancel`).
        :raises UsageError: if size or price is not a positive number (floats are refused:
            they are not exact), or ``venue`` is not one the strategy trades on.
        """
        return self._order(Side.BUY, size, price, symbol, post_only, ioc, venue)

    def sell(self, size: Decimal | int | str, price: Decimal | int | str | None = None, *,
             symbol: str | None = None, post_only: bool = False, ioc: bool = False,
             venue: str | None = None) -> str:
        """Sell ``size``: the mirror of :meth:`buy` (price rounded up to the tick)."""
        return self._order(Side.SELL, size, price, symbol, post_only, ioc, venue)

    def cancel(self, client_id: str) -> None:
        """Cancel an order; cancelling a finished or unknown order is a no-op."""
        self._runner.router.cancel(client_id)

    def cancel_all(self, symbol: str | None = None, venue: str | None = None) -> int:
        """Cancel all open orders (of ``symbol``, on ``venue``); returns how many cancels
        were sent."""
        return self._runner.router.cancel_all(normalise_symbol(symbol) if symbol else None, venue)

    def open_orders(self, venue: str | None = None) -> list[Order]:
        """Orders sent and not yet finished (on ``venue``; default: everywhere)."""
        return self._runner.router.open_orders(venue)

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

    # The helpers called on every event read ``self._bk or self._runner``: the attached
    # runner without a property call, and this property's error when there is none.
    @property
    def _runner(self) -> StrategyContext:
        if self._bk is None:
            raise UsageError(
                f"{type(self).__name__} is not attached to an engine yet; "
                "use the helpers from on_start() or later hooks, not from __init__"
            )
        return self._bk

    def _order(self, side: Side, size: Any, price: Any, symbol: str | None, post_only: bool, ioc: bool,
               venue: str | None) -> str:
        tif = TimeInForce.IOC if ioc else TimeInForce.GTC
        return self._runner.router.submit(self._symbol(symbol), side, size, price,
                                          post_only=post_only, tif=tif, venue=venue)

    def _symbol(self, symbol: str | None) -> str:
        """``symbol`` normalised (any spelling works), else the first declared symbol."""
        if symbol:
            return normalise_symbol(symbol)
        if self.symbols:
            return normalise_symbol(self.symbols[0])
        raise UsageError(f"{type(self).__name__} declares no symbols; pass the symbol explicitly")
