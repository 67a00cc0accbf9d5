"""The broker protocol: where the order router sends orders, whichever venue is behind it.

A broker swaps like an event source: the engine takes any object with these methods
(``Engine(strategy, source, broker=...)``); :class:`~botkit.execution.PaperBroker`
simulates a venue from the market events, a live broker talks to one. Everything runs
in the strategy task, in event order:

* :meth:`Broker.submit` / :meth:`Broker.cancel` are called when the strategy sends;
  they return at once (what the venue answers comes back later).
* :meth:`Broker.on_event` is called with each market event while :attr:`Broker.busy`
  is true (an idle broker costs the dispatch loop one attribute test per event) and
  returns the order updates and fills that happened up to that event, in order.
* :meth:`Broker.finish` is called once at the end of the run: deliver what is in
  flight, cancel what is still open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from .._events import Event
from .._orders import Fill, Order, OrderUpdate
from ._instruments import Instrument
from ._journaling import OrderJournal, RestorableBroker
from ._market import MarketState
from ._tracker import VenueBalances

__all__ = ["Broker", "LiveBroker"]


@runtime_checkable
class Broker(Protocol):
    """Takes orders and cancels; reports what happened to them (see the module docstring)."""

    #: True while any order is pending or working: the engine then calls :meth:`on_event`.
    busy: bool

    def submit(self, order: Order, instrument: Instrument, now_ns: int) -> None:
        """Send ``order`` (already rounded and passed by the risk gate)."""

    def cancel(self, client_id: str, now_ns: int) -> None:
        """Send a cancel; unknown or finished orders are ignored."""

    def open_orders(self) -> list[Order]:
        """Orders sent and not yet filled, cancelled, rejected or expired."""

    def on_event(self, event: Event, market: MarketState) -> Sequence[OrderUpdate | Fill | VenueBalances]:
        """Advance to the market ``event``; what happened to our orders, in order."""

    def finish(self, now_ns: int, market: MarketState) -> Sequence[OrderUpdate | Fill | VenueBalances]:
        """End of the run: deliver orders in flight, cancel what remains open."""


@runtime_checkable
class LiveBroker(Broker, RestorableBroker, Protocol):
    """A broker with a venue connection of its own (see :mod:`botkit.live`).

    Its updates may include :class:`~botkit.execution._tracker.VenueBalances`: the
    router corrects the portfolio to them, in order. The engine runs :meth:`run` in its
    task group (before the feed) and hands it
    ``wake``: the broker awaits ``wake()`` when it has updates or fills, and the
    strategy task then collects them through :meth:`Broker.on_event`. The strategy's
    ``on_start`` waits for :meth:`wait_ready` (the first reconciliation), and at the end
    of the run :meth:`settle` cancels what is open at the venue and waits (bounded) for
    the venue to confirm. With a :attr:`journal`, it flushes it before every frame it
    writes, and :meth:`~botkit.execution.RestorableBroker.restore` takes back a
    journaled run's open orders before :meth:`run`.
    """

    #: Client order ids of this run start with it (unique across runs).
    id_prefix: str
    #: The venue's rules per normalised symbol, loaded at connect; the router reads them.
    instruments: dict[str, Instrument]
    #: Set by the engine when the run has a journal: flushed before every frame written.
    journal: OrderJournal | None

    async def run(self, wake: Callable[[], Awaitable[None]], *, task_status: Any = ...) -> None:
        """Connect, reconcile, trade; reconnect and reconcile again; until cancelled."""

    async def send_now(self) -> None:
        """Write the requests queued since the last write (the strategy task calls it
        right after a hook sent orders)."""

    def cancel_everything(self) -> None:
        """The kill switch: cancel all open orders at the venue and confirm by query."""

    def report(self) -> dict[str, Any]:
        """Counters for the run summary (``trading.live``): JSON-ready, no secret."""

    async def wait_ready(self) -> None:
        """Return once orders, balances and fills are reconciled with the venue."""

    async def settle(self) -> Sequence[OrderUpdate | Fill | VenueBalances]:
        """Cancel every open order at the venue and wait (bounded, as the broker is
        configured) for confirmation; what happened meanwhile, in order."""
