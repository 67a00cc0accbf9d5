"""Positions, cash per asset and P&L, in exact decimals.

Average-cost accounting: adding to a position moves its average price; reducing it
realises ``(exit - average) x size`` (sign-adjusted for shorts); crossing through zero
realises the closed part and opens the rest at the fill price. Fees are paid in the
quote asset and kept apart from realised P&L (``net = realised - fees``).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from .._events import Side
from .._orders import Fill
from .._symbols import normalise_symbol
from ._instruments import Instrument

__all__ = ["Portfolio", "Position"]

_ZERO = Decimal(0)


@attrs.define
class Position:
    """One symbol's position. ``size`` is signed (negative = short)."""

    symbol: str
    size: Decimal = _ZERO
    avg_price: Decimal = _ZERO
    realised_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO

    def unrealised_pnl(self, mark: Decimal) -> Decimal:
        """P&L of the open size if closed at ``mark``."""
        return (mark - self.avg_price) * self.size


class Portfolio:
    """Cash per asset and positions per symbol, updated by fills.

    Example::

        portfolio = Portfolio({"USDT": Decimal(10_000)})
        portfolio.apply(fill, instrument)
        portfolio.equity("USDT", {"BTC-USDT": last_price})
    """

    def __init__(self, cash: dict[str, Decimal] | None = None) -> None:
        self.cash: dict[str, Decimal] = dict(cash or {})
        self.starting_cash = dict(self.cash)
        self.positions: dict[str, Position] = {}
        self.instruments: dict[str, Instrument] = {}
        self.fees = _ZERO
        self.realised_pnl = _ZERO

    def position(self, symbol: str) -> Position:
        """The position in ``symbol``, any spelling (flat if never traded)."""
        pos = self.positions.get(symbol)
        if pos is None:
            symbol = normalise_symbol(symbol)
            pos = self.positions.get(symbol)
            if pos is None:
                pos = self.positions[symbol] = Position(symbol)
        return pos

    def apply(self, fill: Fill, instrument: Instrument) -> Decimal:
        """Book ``fill``; returns the P&L it realised (before fees).

        A fee in the base asset (Binance takes a buy's commission from what it
        delivers) reduces the base received, and the position with it; it is counted
        in ``fees`` at the fill's price. Any other fee asset is paid from that asset."""
        self.instruments[fill.symbol] = instrument
        pos = self.position(fill.symbol)
        notional = fill.price * fill.size
        base, quote = instrument.base, instrument.quote
        fee_asset = fill.fee_asset or quote
        signed = fill.size if fill.side is Side.BUY else -fill.size
        self.cash[quote] = self.cash.get(quote, _ZERO) - (notional if signed > 0 else -notional)
        self.cash[base] = self.cash.get(base, _ZERO) + signed
        self.cash[fee_asset] = self.cash.get(fee_asset, _ZERO) - fill.fee
        fee = fill.fee
        if fee_asset == base:
            signed -= fill.fee
            fee = fill.fee * fill.price
        realised = _ZERO
        if pos.size == 0 or (pos.size > 0) == (signed > 0):
            new_size = pos.size + signed
            pos.avg_price = (pos.avg_price * abs(pos.size) + fill.price * abs(signed)) / abs(new_size)
            pos.size = new_size
        else:
            closed = min(abs(signed), abs(pos.size))
            direction = 1 if pos.size > 0 else -1
            realised = (fill.price - pos.avg_price) * closed * direction
            new_size = pos.size + signed
            if new_size == 0:
                pos.avg_price = _ZERO
            elif (new_size > 0) != (pos.size > 0):
                pos.avg_price = fill.price  # flipped: the remainder opened at this fill
            pos.size = new_size
        pos.realised_pnl += realised
        pos.fees += fee
        self.realised_pnl += realised
        self.fees += fee
        return realised

    def set_balance(self, asset: str, amount: Decimal) -> None:
        """The venue says ``asset`` totals ``amount``: cash follows, and so does the
        position of the first symbol whose base it is (a spot position is what is held)."""
        diff = amount - self.cash.get(asset, _ZERO)
        self.cash[asset] = amount
        for symbol, instrument in self.instruments.items():
            if instrument.base == asset:
                self.position(symbol).size += diff
                break

    def equity(self, quote: str, marks: dict[str, Decimal]) -> Decimal:
        """Total value in ``quote``: its cash plus every base asset held, marked at
        ``marks`` (symbol -> price) for symbols quoted in ``quote``."""
        total = self.cash.get(quote, _ZERO)
        for symbol, instrument in self.instruments.items():
            if instrument.quote == quote:
                held = self.cash.get(instrument.base, _ZERO)
                if held:
                    total += held * marks.get(symbol, self.position(symbol).avg_price)
        return total

    def unrealised_pnl(self, marks: dict[str, Decimal]) -> Decimal:
        """Sum of open positions' P&L at ``marks``."""
        return sum(
            (pos.unrealised_pnl(marks[sym]) for sym, pos in self.positions.items() if pos.size and sym in marks),
            _ZERO,
        )
