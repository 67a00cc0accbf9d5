"""One account per venue: what a strategy trading several venues holds on each.

Cash and positions do not move between exchanges by themselves, so each venue has its
own :class:`Account` (a broker, a portfolio, the venue's market state and quote asset),
and :class:`VenueBrokers` puts their brokers behind the one
:class:`~botkit.execution.Broker` the order router talks to, each order going to its
venue's broker and each market event only to the broker of the venue it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal

import attrs

from .._events import BrokerWake, Event
from .._orders import Fill, Order, OrderUpdate
from ._broker import Broker
from ._instruments import Instrument
from ._journaling import RestorableBroker, RestoredOrder
from ._market import MarketState
from ._paper import PaperConfig
from ._portfolio import Portfolio
from ._tracker import VenueBalances

__all__ = ["Account", "AccountSettings", "VenueBrokers", "split_venue_cash", "summed_cash", "venue_cash_key"]

_ZERO = Decimal(0)


@attrs.frozen
class AccountSettings:
    """How one venue's paper account starts, for a strategy trading several venues
    (``Engine(accounts={"coinbase": AccountSettings(...)})``, ``[venues.NAME]`` in the
    config).

    :param starting_cash: cash per asset there; None: the run's.
    :param paper: the paper broker's settings there (fees, latency, slippage); None: the
        run's.
    """

    starting_cash: dict[str, Decimal] | None = attrs.field(default=None, hash=False)
    paper: PaperConfig | None = None


@attrs.define(eq=False)
class Account:
    """A venue's account: its broker, its cash and positions, what its market last showed
    (for marks, market orders and balance checks), and the asset its P&L is counted in."""

    venue: str
    broker: Broker
    portfolio: Portfolio
    market: MarketState
    quote_asset: str
    #: A spot account: an order needs the balance it would spend (else margin).
    spot: bool = True
    #: What a spot buy reserves on top of its notional for the fee, in basis points.
    fee_reserve_bps: Decimal = _ZERO

    def equity(self) -> Decimal:
        """The account's value in its quote asset, marked at its venue's last trades."""
        return self.portfolio.equity(self.quote_asset, self.market.last_prices)


def venue_cash_key(venue: str, asset: str) -> str:
    """How a several-venue run keeps one venue's starting cash in one flat mapping (the
    journal's ``starting_cash``): ``"coinbase:USD"``."""
    return f"{venue}:{asset}"


def split_venue_cash(cash: Mapping[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    """:func:`venue_cash_key`'s flat mapping back to venue -> asset -> amount (empty when
    ``cash`` is one account's: no key names a venue)."""
    venues: dict[str, dict[str, Decimal]] = {}
    for key, amount in cash.items():
        venue, sep, asset = key.partition(":")
        if sep:
            venues.setdefault(venue, {})[asset] = amount
    return venues


def summed_cash(cashes: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Several accounts' cash added up, asset by asset."""
    total: dict[str, Decimal] = {}
    for cash in cashes:
        for asset, amount in cash.items():
            total[asset] = total.get(asset, _ZERO) + amount
    return total


class VenueBrokers:
    """Several venues' brokers as one :class:`~botkit.execution.Broker`: orders go to
    their ``venue``'s, a market event to the broker of its ``venue`` (so a paper order on
    one venue fills only on that venue's quotes and trades, at that venue's latency)."""

    def __init__(self, accounts: Mapping[str, Account]) -> None:
        self._accounts = dict(accounts)
        self._brokers = tuple(account.broker for account in self._accounts.values())
        self._venue_of: dict[str, str] = {}  # client id -> venue, while it may be open
        #: True while any venue's broker is (a broker's changes only in the calls made
        #: here, so it is kept after each: the dispatch loop reads it per event).
        self.busy = False

    def _update(self) -> None:
        self.busy = any(broker.busy for broker in self._brokers)

    def submit(self, order: Order, instrument: Instrument, now_ns: int) -> None:
        """Send ``order`` to its venue's broker."""
        if len(self._venue_of) > 4096:  # now and then, forget the finished orders
            open_ids = {o.client_id for o in self.open_orders()}
            self._venue_of = {cid: venue for cid, venue in self._venue_of.items() if cid in open_ids}
        self._venue_of[order.client_id] = order.venue
        self._accounts[order.venue].broker.submit(order, instrument, now_ns)
        self._update()

    def cancel(self, client_id: str, now_ns: int) -> None:
        """Send a cancel to the order's venue (unknown ids are ignored)."""
        venue = self._venue_of.get(client_id)
        if venue is not None:
            self._accounts[venue].broker.cancel(client_id, now_ns)
            self._update()

    def open_orders(self) -> list[Order]:
        """Every venue's open orders, venue by venue."""
        return [order for broker in self._brokers for order in broker.open_orders()]

    def on_event(self, event: Event, market: MarketState) -> Sequence[OrderUpdate | Fill | VenueBalances]:
        """Advance the broker of the event's venue (with that venue's market state); a
        ``BrokerWake`` (the clock moved) advances every busy one."""
        if type(event) is BrokerWake:
            results = [item for account in self._accounts.values() if account.broker.busy
                       for item in account.broker.on_event(event, account.market)]
        else:
            account = self._accounts.get(event.venue)  # type: ignore[union-attr]
            if account is None or not account.broker.busy:
                return ()
            results = list(account.broker.on_event(event, account.market))
        self._update()
        return results

    def finish(self, now_ns: int, market: MarketState) -> list[OrderUpdate | Fill | VenueBalances]:
        """Each venue's end of run, venue by venue."""
        results = [item for account in self._accounts.values()
                   for item in account.broker.finish(now_ns, account.market)]
        self._venue_of.clear()
        self._update()
        return results

    def restore(self, orders: Sequence[RestoredOrder], last_trade_ids: Mapping[str, Collection[str]],
                instrument: Callable[[str], Instrument], now_ns: int) -> None:
        """A journaled run's open orders, each back to its venue's broker."""
        for venue, account in self._accounts.items():
            mine = [restored for restored in orders if restored.order.venue == venue]
            broker = account.broker
            if mine and isinstance(broker, RestorableBroker):
                broker.restore(mine, last_trade_ids, instrument, now_ns)
                self._venue_of.update((restored.order.client_id, venue) for restored in mine)
        self._update()
