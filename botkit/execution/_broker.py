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

from typing import Protocol, runtime_checkable

from .._events import Event
from .._orders import Fill, Order, OrderUpdate
from ._instruments import Instrument
from ._market import MarketState

__all__ = ["Broker"]


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

    def on_event(self, event: Event, market: MarketState) -> list[OrderUpdate | Fill]:
        """Advance to the market ``event``; what happened to our orders, in order."""

    def finish(self, now_ns: int, market: MarketState) -> list[OrderUpdate | Fill]:
        """End of the run: deliver orders in flight, cancel what remains open."""
