"""Instrument metadata (tick, lot, minimum notional) and rounding that never adds risk."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

import attrs

from ._events import Side

__all__ = ["Instrument", "instrument_for"]

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD")


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
    """The instrument for ``symbol``: from ``overrides`` (config), else inferred from the
    symbol's quote-asset suffix with Binance-like BTCUSDT defaults."""
    if overrides and symbol in overrides:
        return overrides[symbol]
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return Instrument(symbol, symbol[: -len(quote)], quote)
    return Instrument(symbol, symbol, "QUOTE")
