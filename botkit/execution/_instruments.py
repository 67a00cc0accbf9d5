"""Instrument metadata (tick, lot, minimum notional) and rounding that never adds risk."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

import attrs

from .._events import Side
from .._symbols import normalise_symbol, split_symbol

__all__ = ["Instrument", "instrument_for"]



@attrs.frozen
class Instrument:
    """A tradable symbol.

    :param tick_size: price increment.
    :param lot_size: size increment (also the minimum size).
    :param min_notional: minimum price x size (in the quote asset).
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")

    def round_size(self, size: Decimal) -> Decimal:
        """Round down to the lot: a rounded order is never bigger than asked."""
        return (size / self.lot_size).to_integral_value(ROUND_DOWN) * self.lot_size

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to the tick in the passive direction: a buy never pays more than its
        limit, a sell never accepts less."""
        mode = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        return (price / self.tick_size).to_integral_value(mode) * self.tick_size


def instrument_for(symbol: str, overrides: dict[str, Instrument] | None = None) -> Instrument:
    """The instrument for ``symbol`` (any spelling): from ``overrides`` (config, keyed by
    normalised symbol), else inferred from the symbol with Binance-like BTC-USDT defaults."""
    name = normalise_symbol(symbol)
    if overrides and name in overrides:
        return overrides[name]
    base, quote = split_symbol(name)
    return Instrument(name, base, quote)
