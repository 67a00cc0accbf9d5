"""The order router: strategy intents -> rounding -> risk gate -> broker -> portfolio.

It also keeps the run's trading record (equity curve, fills, order counts) for the
report. Everything here runs inside the strategy task, in event order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

from .._clock import Clock
from .._decimals import exact_decimal
from .._events import Event, Side
from .._exceptions import UsageError
from .._orders import Fill, Order, OrderStatus, OrderType, OrderUpdate, TimeInForce
from ._accounts import Account, split_venue_cash, summed_cash
from ._broker import Broker, LiveBroker
from ._instruments import Instrument, instrument_for
from ._journaling import OrderJournal
from ._market import MarketState
from ._portfolio import Portfolio
from ._risk import RiskManager
from ._tracker import VenueBalances

__all__ = ["OrderRouter"]

log = logging.getLogger("botkit.orders")

_ZERO = Decimal(0)
_EQUITY_EVERY_NS = 1_000_000_000  # equity sample period (event time) while a position is open
_NEVER = 1 << 63  # beyond any engine time in ns
_FINISHED = frozenset((OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED))


class OrderRouter:
    """Turns a strategy's buy/sell/cancel calls into orders and books what comes back.

    :param market: the engine's market state (marks for equity and market orders).
    :param record_prices: keep a price series for the report's plots.
    :param id_prefix: client order ids are this and a counter (a live broker makes it
        unique per run, so ids never repeat across restarts).
    :param spot_account: check balances as a spot venue does: an order needs the
        balance it would spend (quote for a buy, plus ``fee_reserve_bps``; base for a
        sell) beyond what open orders have reserved. Off: a margin account.
    :param accounts: a strategy trading several venues: one account each (``broker`` then
        routes to theirs, :class:`~botkit.execution._accounts.VenueBrokers`, and
        ``portfolio`` is their sum: every fill is booked in both). ``venue`` is the
        default venue of an order. None: one account, of ``broker``, ``portfolio`` and
        ``market``.
    """

    def __init__(
        self,
        clock: Clock,
        risk: RiskManager,
        broker: Broker,
        portfolio: Portfolio,
        market: MarketState,
        *,
        venue: str = "binance",
        instruments: dict[str, Instrument] | None = None,
        quote_asset: str = "USDT",
        record_prices: bool = False,
        spot_account: bool = False,
        fee_reserve_bps: Decimal = _ZERO,
        id_prefix: str = "bk-",
        accounts: Mapping[str, Account] | None = None,
    ) -> None:
        self.clock = clock
        self.risk = risk
        # Per-trade equity marks only feed the loss limits: none set, none needed.
        self._watch_equity = risk.watches_equity
        self.broker = broker
        self.portfolio = portfolio
        self.venue = venue
        self.quote_asset = quote_asset
        #: venue -> its account (one, unless the strategy trades several venues).
        self.accounts: dict[str, Account] = dict(accounts) if accounts else {
            venue: Account(venue, broker, portfolio, market, quote_asset, spot_account, Decimal(fee_reserve_bps))}
        self._several = len(self.accounts) > 1
        # The same mapping a live broker fills with the venue's rules at connect.
        self._instruments = instruments if instruments is not None else {}
        self._next_id = 0
        #: Updates and fills waiting to be delivered to the strategy, in order (and the
        #: venue's balance snapshots where they were booked, for the journal).
        self.outbox: list[OrderUpdate | Fill | VenueBalances] = []
        self.orders = 0
        self.rejected = 0
        #: Rejections by reason (the text before its first colon), the risk gate's included.
        self.rejections: dict[str, int] = {}
        self.fills: list[Fill] = []
        self.closing_pnls: list[Decimal] = []
        self.equity_curve: list[tuple[int, Decimal]] = []
        self.market = market
        #: symbol -> mark price: the last trade price (the market state's, not a copy).
        self.marks = market.last_prices
        self._last_sample = 0
        self._open_since: int | None = None
        #: Engine time from which :meth:`maybe_sample` has work (the dispatch loop tests
        #: this one integer per trade instead of calling it).
        self.sample_due = _NEVER
        self.exposure_ns = 0
        #: (ts, last trade price) once per second of engine time, when ``record_prices``.
        self.prices: list[tuple[int, Decimal]] = []
        self.record_prices = record_prices
        self._price_sampled = 0
        # Spot accounts keep what their open orders have filled (their reserves shrink).
        self.spot_account = any(account.spot for account in self.accounts.values())
        self._filled: dict[str, Decimal] = {}  # client id -> filled so far, while open
        self._id_prefix = id_prefix
        #: Times the venue's balances differed from ours while nothing was open (live).
        self.balance_corrections = 0
        #: Where order intents and cancels are written before they are sent (None: nowhere).
        self.journal: OrderJournal | None = None
        #: The run continues a journaled one (its portfolio came from :meth:`restore`).
        self.restored = False
        self._replaying = False
        #: Set when the run is stopping: every order is refused with this reason.
        self.closed = ""

    def instrument(self, symbol: str) -> Instrument:
        """Metadata for ``symbol`` (config overrides, else inferred)."""
        return instrument_for(symbol, self._instruments)

    def account(self, venue: str | None = None) -> Account:
        """The account on ``venue`` (default: the order's default venue).

        :raises UsageError: the run has no account there.
        """
        if venue is None:
            venue = self.venue
        account = self.accounts.get(venue)
        if account is None:
            raise UsageError(f"no account on {venue!r}: this run trades on {', '.join(self.accounts)}")
        return account

    def submit(self, symbol: str, side: Side, size: Decimal, price: Decimal | None, *,
               post_only: bool = False, tif: TimeInForce = TimeInForce.GTC, venue: str | None = None) -> str:
        """Send an order on ``venue`` (default: :attr:`venue`); returns its client id.
        Rejections arrive via ``on_order``.

        :raises UsageError: for sizes/prices that are not positive numbers, or a venue the
            run has no account on.
        """
        size, price = _decimal(size, "size"), None if price is None else _decimal(price, "price")
        if post_only and price is None:
            raise UsageError("post_only needs a limit price")
        account = self.account(venue)
        now = self.clock.now_ns()
        self._next_id += 1
        client_id = f"{self._id_prefix}{self._next_id}"
        inst = self.instrument(symbol)
        rounded_size = inst.round_size(size, market=price is None)
        rounded_price = None if price is None else inst.round_price(price, side)
        order = Order(client_id, account.venue, symbol, side,
                      OrderType.MARKET if price is None else OrderType.LIMIT, rounded_size, rounded_price, tif,
                      post_only, now)
        self.orders += 1
        reason = self.closed or self._validate(order, inst, account)
        if not reason:
            ref = account.market.last_prices.get(symbol)
            reason = self.risk.check_order(order, self.portfolio.position(symbol).size, self.broker.open_orders(), ref)
            if not reason and self._several:
                reason = self.risk.check_venue(order, account.portfolio.position(symbol).size,
                                               account.broker.open_orders(), ref)
        if reason:
            self.rejected += 1
            key = reason.split(":", 1)[0]
            self.rejections[key] = self.rejections.get(key, 0) + 1
            log.info("order %s rejected: %s", client_id, reason)
            self.outbox.append(OrderUpdate(client_id, symbol, OrderStatus.REJECTED, _ZERO, order.size, reason, now))
            return client_id
        self._send(order, inst, now)
        return client_id

    def _send(self, order: Order, inst: Instrument, now: int) -> None:
        self.outbox.append(OrderUpdate(order.client_id, order.symbol, OrderStatus.SUBMITTED, _ZERO, order.size, "",
                                       now))
        if self.journal is not None:
            self.journal.intent(order)
        self.broker.submit(order, inst, now)

    def cancel(self, client_id: str) -> None:
        """Cancel an order (idempotent: unknown or finished orders are ignored)."""
        now = self.clock.now_ns()
        if self.journal is not None and any(o.client_id == client_id for o in self.broker.open_orders()):
            self.journal.cancel(client_id, now)
        self.broker.cancel(client_id, now)

    def open_orders(self, venue: str | None = None) -> list[Order]:
        """Orders sent and not yet finished (the broker's view), on ``venue`` or all.

        :raises UsageError: the run has no account on ``venue``.
        """
        if venue is None:
            return self.broker.open_orders()
        return self.account(venue).broker.open_orders()

    def cancel_all(self, symbol: str | None = None, venue: str | None = None) -> int:
        """Cancel every open order (of ``symbol``, on ``venue``); returns how many cancels
        were sent."""
        orders = [o for o in self.open_orders(venue) if symbol is None or o.symbol == symbol]
        for order in orders:
            self.cancel(order.client_id)
        return len(orders)

    def on_market(self, event: Event) -> None:
        """Feed a market event to the broker and book what happened."""
        results = self.broker.on_event(event, self.market)
        if results:
            self._book(results)

    def sample_price(self, price: Decimal, now: int) -> None:
        """Keep a 1-per-second price series for the report's trades plot."""
        if now - self._price_sampled >= _EQUITY_EVERY_NS:
            self._price_sampled = now
            self.prices.append((now, price))

    def maybe_sample(self, now: int) -> None:
        """While a position is open: mark equity to the last trade for the risk limits
        (every trade: a kill switch must not wait), and record it for the equity curve
        at most once a second of engine time."""
        if self._open_since is None:
            return
        if now - self._last_sample >= _EQUITY_EVERY_NS:
            self._sample(now)
        elif self._watch_equity:
            self.risk.on_equity(self.equity(), now)

    def equity(self) -> Decimal:
        """The run's value now: the account's equity in its quote asset, or with several
        venues the sum of theirs (each marked at its venue's prices, quote assets at par)."""
        if self._several:
            return sum((account.equity() for account in self.accounts.values()), _ZERO)
        return self.portfolio.equity(self.quote_asset, self.marks)

    def starting_equity(self) -> Decimal:
        """The quote-asset cash the run started with (summed over the venues)."""
        return sum((account.portfolio.starting_cash.get(account.quote_asset, _ZERO)
                    for account in self.accounts.values()), _ZERO)

    def _schedule_sample(self) -> None:
        if self._open_since is None:
            self.sample_due = _NEVER
        elif self._watch_equity:
            self.sample_due = 0  # every trade
        else:
            self.sample_due = self._last_sample + _EQUITY_EVERY_NS

    async def settle(self) -> None:
        """A live broker's end of run: cancel what is open at the venue, wait for its
        confirmation (bounded) and book what happened meanwhile."""
        broker = self.broker
        if isinstance(broker, LiveBroker):
            self._book(await broker.settle())

    def restore(self, starting_cash: dict[str, Decimal], history: Sequence[Fill | VenueBalances], orders: int,
                next_id: int) -> None:
        """Continue a journaled run: the account it started with, its fills and balance
        snapshots booked again in order (positions, P&L, the equity curve), ``orders``
        sent so far, and client ids from ``next_id`` on. The risk limits are not fed
        the past: they watch this run. With several venues, ``starting_cash`` keys are
        :func:`~botkit.execution._accounts.venue_cash_key`'s."""
        if self._several:
            per_venue = split_venue_cash(starting_cash)
            for venue, account in self.accounts.items():
                account.portfolio.cash = dict(per_venue.get(venue, {}))
                account.portfolio.starting_cash = dict(per_venue.get(venue, {}))
            starting_cash = summed_cash(account.portfolio.starting_cash for account in self.accounts.values())
        self.portfolio.cash = dict(starting_cash)
        self.portfolio.starting_cash = dict(starting_cash)
        self._replaying = True
        try:
            self._book(history)
        finally:
            self._replaying = False
        self.outbox.clear()
        self.orders = orders
        self._next_id = max(self._next_id, next_id)
        self.restored = True

    def correct_balances(self, snapshot: VenueBalances) -> None:
        """Make the portfolio's cash the venue's (assets the run trades). The first
        snapshot is where the run starts (unless it continues a journaled run); a later
        difference is logged and counted in :attr:`balance_corrections` (not when
        booked again from a journal: it was then)."""
        starts = snapshot.first and not self.restored and not self._replaying
        balances, count = snapshot.balances, not starts and not self._replaying
        assets = {a for inst in (self.instrument(s) for s in self.portfolio.positions) for a in (inst.base, inst.quote)}
        assets |= set(self.portfolio.cash) | {self.quote_asset}
        diffs = {a: balances.get(a, _ZERO) - self.portfolio.cash.get(a, _ZERO) for a in sorted(assets)}
        diffs = {a: d for a, d in diffs.items() if d}
        for asset, diff in diffs.items():
            if count:
                log.warning("balance of %s corrected to the venue's: %s (ours was off by %s)", asset,
                            balances.get(asset, _ZERO), diff)
            self.portfolio.set_balance(asset, balances.get(asset, _ZERO))
        if diffs and count:
            self.balance_corrections += 1
        if starts:
            self.portfolio.starting_cash = dict(self.portfolio.cash)

    def finish(self) -> None:
        """End of run: deliver in-flight orders, cancel the rest, take a last sample."""
        now = self.clock.now_ns()
        self._book(self.broker.finish(now, self.market))
        self._sample(now)
        if self._open_since is not None:
            self.exposure_ns += now - self._open_since
            self._open_since = None
        self._schedule_sample()

    def _book(self, results: Sequence[OrderUpdate | Fill | VenueBalances]) -> None:
        for item in results:
            if isinstance(item, VenueBalances):  # rare: a live broker's reconciliation
                self.correct_balances(item)
                if not self._replaying:
                    self.outbox.append(item)  # journaled in its place among the fills
                continue
            if type(item) is Fill:
                if self.spot_account:
                    self._filled[item.client_id] = self._filled.get(item.client_id, _ZERO) + item.size
                instrument = self.instrument(item.symbol)
                if self._several:
                    account = self.accounts[item.venue]
                    before = account.portfolio.position(item.symbol).size
                    realised = account.portfolio.apply(item, instrument)
                    after = account.portfolio.position(item.symbol).size
                    self._mark(account.market.last_prices, item)
                    self.portfolio.apply(item, instrument)
                else:
                    before = self.portfolio.position(item.symbol).size
                    realised = self.portfolio.apply(item, instrument)
                    after = self.portfolio.position(item.symbol).size
                self.fills.append(item)
                if (before and abs(after) < abs(before)) or (before and after and (before > 0) != (after > 0)):
                    self.closing_pnls.append(realised - item.fee)
                self._track_exposure(before, after, item.ts_recv)
                self._mark(self.marks, item)
                self._sample(item.ts_recv)
            elif item.status in _FINISHED:  # type: ignore[union-attr]
                self._filled.pop(item.client_id, None)
            self.outbox.append(item)

    def _mark(self, marks: dict[str, Decimal], fill: Fill) -> None:
        if self._replaying:  # the past's equity at the past's prices: the feed marks it from now on
            marks[fill.symbol] = fill.price
        else:
            marks.setdefault(fill.symbol, fill.price)

    def _track_exposure(self, before: Decimal, after: Decimal, ts: int) -> None:
        if self._several:  # exposed while any venue holds a position
            was = self._open_since is not None
            now = any(p.size for account in self.accounts.values() for p in account.portfolio.positions.values())
        else:
            was, now = bool(before), bool(after)
        if not was and now:
            self._open_since = ts
        elif was and not now and self._open_since is not None:
            self.exposure_ns += ts - self._open_since
            self._open_since = None
        self._schedule_sample()

    def _sample(self, now: int) -> None:
        equity = self.equity()
        self._last_sample = now
        self.equity_curve.append((now, equity))
        if not self._replaying:
            self.risk.on_equity(equity, now)
        self._schedule_sample()

    def _validate(self, order: Order, inst: Instrument, account: Account) -> str:
        # The venue's filters first, as the venue checks them (the same in every broker).
        open_orders = account.broker.open_orders()
        open_here = sum(1 for o in open_orders if o.symbol == order.symbol)
        reason = inst.check(order, account.market.last_prices.get(order.symbol), open_here)
        if reason:
            return reason
        return self._balance(order, inst, account, open_orders) if account.spot else ""

    def _balance(self, order: Order, inst: Instrument, account: Account, open_orders: list[Order]) -> str:
        """A spot venue's balance check (Binance: "Account has insufficient balance for
        requested action."): what the order would spend, against what the account on its
        venue holds less what its open orders there have reserved."""
        cash, market = account.portfolio.cash, account.market
        if order.side is Side.BUY:
            price = order.price if order.price is not None else _buy_price(market, order.symbol)
            if price is None:
                return "no price yet to check the balance against (no quote or trade of the symbol)"
            needed = price * order.size * _fee_factor(account)
            reserved = sum((self._reserve(o, market, account) for o in open_orders
                            if o.side is Side.BUY and self.instrument(o.symbol).quote == inst.quote), _ZERO)
            have, asset = cash.get(inst.quote, _ZERO) - reserved, inst.quote
        else:
            needed = order.size
            reserved = sum((o.size - self._filled.get(o.client_id, _ZERO) for o in open_orders
                            if o.side is Side.SELL and self.instrument(o.symbol).base == inst.base), _ZERO)
            have, asset = cash.get(inst.base, _ZERO) - reserved, inst.base
        if needed <= have:
            return ""
        where = f" on {account.venue}" if self._several else ""
        return (f"insufficient balance: needs {needed.normalize():f} {asset}, {max(have, _ZERO).normalize():f} "
                f"available{where} (spot account; paper.margin = true allows borrowing)")

    def _reserve(self, order: Order, market: MarketState, account: Account) -> Decimal:
        price = order.price if order.price is not None else _buy_price(market, order.symbol)
        remaining = order.size - self._filled.get(order.client_id, _ZERO)
        return (price or _ZERO) * remaining * _fee_factor(account)

    def kill(self, reason: str) -> None:
        """The kill switch tripped: cancel every open order (the risk gate refuses new
        ones); a live broker cancels everything at the venue and confirms by query. With
        ``flatten_on_kill``, long positions are then sold at market."""
        broker = self.broker
        cancelled = len(broker.open_orders())
        if isinstance(broker, LiveBroker):
            broker.cancel_everything()
        else:
            self.cancel_all()
        log.error("kill switch (%s): cancelling %d open orders, trading halted", reason, cancelled)
        if self.risk.limits.flatten_on_kill:
            self._flatten()

    def _flatten(self) -> None:
        """Sell what is held (spot: positions are long), past the halted risk gate."""
        now = self.clock.now_ns()
        for venue, account in self.accounts.items():
            for symbol, position in sorted(account.portfolio.positions.items()):
                inst = self.instrument(symbol)
                size = inst.round_size(position.size, market=True)
                if size <= 0:
                    continue
                self._next_id += 1
                order = Order(f"{self._id_prefix}{self._next_id}", venue, symbol, Side.SELL, OrderType.MARKET,
                              size, None, TimeInForce.GTC, False, now)
                self.orders += 1
                log.error("kill switch: flattening %s %s on %s at market (%s)", size, symbol, venue, order.client_id)
                self._send(order, inst, now)


def _fee_factor(account: Account) -> Decimal:
    return 1 + account.fee_reserve_bps / 10_000


def _buy_price(market: MarketState, symbol: str) -> Decimal | None:
    quote = market.last_quotes.get(symbol)
    return quote.ask_price if quote is not None else market.last_prices.get(symbol)


def _decimal(value: object, name: str) -> Decimal:
    try:
        number = exact_decimal(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None
    if number <= 0:
        raise UsageError(f"{name} must be positive, got {value!r}")
    return number
