"""The paper broker: simulated execution for backtests and live paper trading.

Rules (deterministic for a given event stream):

* **Latency**: an order or cancel reaches the simulated venue ``latency_ms`` after it was
  sent (engine time). Only market events stamped at or after that arrival can touch it,
  so a backtest cannot trade on information it would not yet have had.
* **Market orders** fill in full on arrival at the best quote known at that moment (ask
  for a buy, bid for a sell), moved against us by ``slippage_bps``; with no quote yet,
  at the next trade's price, likewise; at the end of the run (an ``on_stop`` flatten),
  at the last trade's price. Taker fee.
* **Limit orders** that cross the best quote on arrival take liquidity at the quote
  (up to its displayed size, taker fee); a post-only order that would cross is rejected.
  The rest rests. **Queue assumption**: we are last in the queue, so a resting order
  fills only when a trade prints strictly *through* its price (a buy fills on a trade
  below its limit), for at most that trade's size, at the limit price; maker fee.
  Trades *at* the price never fill us. This is conservative: it never overstates fills.
* **IOC** limit orders cancel whatever does not fill on arrival.
* **Cancels** are idempotent: cancelling an unknown, filled or already cancelled order
  does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal

import attrs

from .._events import Event, Quote, Side, Trade
from .._orders import Fill, Order, OrderStatus, OrderType, OrderUpdate, TimeInForce
from ._instruments import Instrument
from ._journaling import RestoredOrder
from ._market import MarketState

__all__ = ["PaperBroker", "PaperConfig"]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)


@attrs.frozen
class PaperConfig:
    """Paper execution settings (Binance spot VIP 0 fees by default).

    :param margin: a margin account: sells may go short and buys may borrow. Off (the
        default), the account is spot, as the venue checks it: an order needs the
        balance it would spend, not already reserved by open orders. Derivatives venues
        (``binance-futures``) are margin accounts whatever this says.
    """

    latency_ms: float = attrs.field(default=5.0, validator=[attrs.validators.ge(0), attrs.validators.lt(float("inf"))])
    slippage_bps: Decimal = attrs.field(default=Decimal(0), converter=Decimal)
    maker_fee_bps: Decimal = attrs.field(default=Decimal(10), converter=Decimal)
    taker_fee_bps: Decimal = attrs.field(default=Decimal(10), converter=Decimal)
    margin: bool = False


@attrs.define
class _Working:
    order: Order
    instrument: Instrument
    arrival: int
    filled: Decimal = _ZERO
    live: bool = False  # arrived at the venue

    @property
    def remaining(self) -> Decimal:
        return self.order.size - self.filled


class PaperBroker:
    """Works orders against the market event stream (see the module docstring); one
    implementation of :class:`~botkit.execution.Broker`.

    Example::

        engine = Engine(Scalper(), source, broker=PaperBroker(PaperConfig(latency_ms=20)))
    """

    def __init__(self, config: PaperConfig | None = None, venue: str = "binance") -> None:
        self.config = config or PaperConfig()
        self.venue = venue
        self._latency_ns = int(self.config.latency_ms * 1_000_000)
        self._orders: dict[str, _Working] = {}
        self._cancels: list[tuple[int, str]] = []
        #: True while anything is pending or resting (the engine skips idle brokers).
        self.busy = False

    def submit(self, order: Order, instrument: Instrument, now_ns: int) -> None:
        """Send ``order``; it arrives after the configured latency."""
        self._orders[order.client_id] = _Working(order, instrument, now_ns + self._latency_ns)
        self.busy = True

    def restore(self, orders: Sequence[RestoredOrder], last_trade_ids: Mapping[str, Collection[str]],
                instrument: Callable[[str], Instrument], now_ns: int) -> None:
        """Work a journaled run's open orders again: those the simulated venue had
        accepted rest as they were (less what filled); the others arrive now, after the
        latency, as if just sent."""
        for restored in orders:
            order = restored.order
            accepted = restored.told is not OrderStatus.SUBMITTED
            self._orders[order.client_id] = _Working(order, instrument(order.symbol), now_ns + self._latency_ns,
                                                     restored.filled, live=accepted)
        self.busy = bool(self._orders)

    def cancel(self, client_id: str, now_ns: int) -> None:
        """Send a cancel (idempotent)."""
        if client_id in self._orders:
            self._cancels.append((now_ns + self._latency_ns, client_id))

    def open_orders(self) -> list[Order]:
        """Orders sent and not yet filled, cancelled or rejected."""
        return [w.order for w in self._orders.values()]

    def on_event(self, event: Event, market: MarketState) -> list[OrderUpdate | Fill]:
        """Advance the simulated venue to ``event`` and return what happened to our orders."""
        out: list[OrderUpdate | Fill] = []
        # An order arriving meets the touch as the engine last saw it.
        quotes = market.last_quotes
        ts = event.ts_recv
        if self._cancels:
            self._process_cancels(ts, quotes, out)
        for working in list(self._orders.values()):
            if not working.live and working.arrival <= ts:
                self._arrive(working, working.arrival, quotes, out)
        if type(event) is Trade:
            self._match_trade(event, out)
        self.busy = bool(self._orders)
        return out

    def finish(self, now_ns: int, market: MarketState) -> list[OrderUpdate | Fill]:
        """End of the run: deliver orders still in flight at the last known quotes, then
        cancel everything still open (reason "shutdown")."""
        out: list[OrderUpdate | Fill] = []
        for working in list(self._orders.values()):
            if not working.live:
                self._arrive(working, now_ns, market.last_quotes, out)
        for working in list(self._orders.values()):
            order = working.order
            last = market.last_prices.get(order.symbol)
            if order.type is OrderType.MARKET and last is not None:
                # No quote, and no trade will come: the last trade's price, as a
                # trades-only strategy flattening in on_stop expects.
                self._fill(working, self._slipped(working, last), working.remaining, "taker", now_ns, out)
        for client_id in list(self._orders):
            working = self._orders[client_id]
            market_order = working.order.type is OrderType.MARKET
            self._cancel(client_id, now_ns, "shutdown: no price to fill the market order at" if market_order
                         else "shutdown", out)
        self.busy = False
        return out

    # -- internals --------------------------------------------------------------------

    def _process_cancels(self, ts: int, quotes: dict[str, Quote], out: list[OrderUpdate | Fill]) -> None:
        due = [c for c in self._cancels if c[0] <= ts]
        if not due:
            return
        self._cancels = [c for c in self._cancels if c[0] > ts]
        for arrival, client_id in due:
            working = self._orders.get(client_id)
            if working is not None and not working.live and working.arrival <= arrival:
                self._arrive(working, working.arrival, quotes, out)  # the order got there first
            self._cancel(client_id, arrival, "cancelled by strategy", out)

    def _arrive(self, working: _Working, ts: int, quotes: dict[str, Quote], out: list[OrderUpdate | Fill]) -> None:
        working.live = True
        order = working.order
        quote = quotes.get(order.symbol)
        out.append(self._update(working, OrderStatus.ACCEPTED, "", ts))
        if order.type is OrderType.MARKET:
            if quote is not None:
                price = quote.ask_price if order.side is Side.BUY else quote.bid_price
                self._fill(working, self._slipped(working, price), working.remaining, "taker", ts, out)
            return
        limit = order.price
        assert limit is not None
        if quote is not None:
            crosses = quote.ask_price <= limit if order.side is Side.BUY else quote.bid_price >= limit
            if crosses:
                if order.post_only:
                    del self._orders[order.client_id]
                    out[-1] = self._update(working, OrderStatus.REJECTED, "post-only order would take liquidity", ts)
                    return
                price, shown = (
                    (quote.ask_price, quote.ask_size) if order.side is Side.BUY else (quote.bid_price, quote.bid_size)
                )
                self._fill(working, price, min(working.remaining, shown), "taker", ts, out)
        if order.client_id in self._orders and order.time_in_force is TimeInForce.IOC:
            self._cancel(order.client_id, ts, "IOC remainder", out)

    def _match_trade(self, trade: Trade, out: list[OrderUpdate | Fill]) -> None:
        for working in list(self._orders.values()):
            order = working.order
            if not working.live or order.symbol != trade.symbol:
                continue
            if order.type is OrderType.MARKET:  # arrived before any quote: take this trade's price
                self._fill(working, self._slipped(working, trade.price), working.remaining, "taker", trade.ts_recv, out)
                continue
            through = trade.price < order.price if order.side is Side.BUY else trade.price > order.price  # type: ignore[operator]
            if through:
                size = min(working.remaining, trade.size)
                self._fill(working, order.price, size, "maker", trade.ts_recv, out)  # type: ignore[arg-type]

    def _slipped(self, working: _Working, price: Decimal) -> Decimal:
        slip = self.config.slippage_bps
        if not slip:
            return price
        side = working.order.side
        moved = price * (1 + slip / _BPS) if side is Side.BUY else price * (1 - slip / _BPS)
        # Round against us: slippage never turns into price improvement.
        return working.instrument.round_price(moved, Side.SELL if side is Side.BUY else Side.BUY)

    def _fill(self, working: _Working, price: Decimal, size: Decimal, liquidity: str, ts: int,
              out: list[OrderUpdate | Fill]) -> None:
        if size <= 0:
            return
        order = working.order
        bps = self.config.maker_fee_bps if liquidity == "maker" else self.config.taker_fee_bps
        fee = price * size * bps / _BPS
        trade_id = f"{order.client_id}@{working.filled}"  # unique per order, and across a restore
        working.filled += size
        out.append(Fill(order.client_id, order.venue, order.symbol, order.side, price, size, fee,
                        working.instrument.quote, liquidity, ts, trade_id))
        done = working.remaining <= 0
        if done:
            del self._orders[order.client_id]
        out.append(self._update(working, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, "", ts))

    def _cancel(self, client_id: str, ts: int, reason: str, out: list[OrderUpdate | Fill]) -> None:
        working = self._orders.pop(client_id, None)
        if working is not None:
            out.append(self._update(working, OrderStatus.CANCELLED, reason, ts))

    @staticmethod
    def _update(working: _Working, status: OrderStatus, reason: str, ts: int) -> OrderUpdate:
        order = working.order
        return OrderUpdate(order.client_id, order.symbol, status, working.filled, working.remaining, reason, ts)
