"""Instrument metadata and the venue's order rules: rounding that never adds risk, and the
checks an exchange makes before it accepts an order.

The rules are Binance spot's symbol filters (``filters.md``): ``PRICE_FILTER``,
``LOT_SIZE``, ``MARKET_LOT_SIZE``, ``NOTIONAL`` (or ``MIN_NOTIONAL``),
``PERCENT_PRICE_BY_SIDE`` (or ``PERCENT_PRICE``) and ``MAX_NUM_ORDERS``. A live run loads
them from the venue at start; a backtest or paper run uses the same checks with the
configured or default values, so an order the venue would refuse is refused there too.
A zero disables a rule, as in the venue's own format.

Two approximations, the same everywhere botkit applies them (the simulator included):
the percent-price and market-notional reference is the last trade price (the venue
uses a short average or its reference price), and a market order's notional uses the
price the router would fill it at.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from .._events import Side
from .._orders import Order, OrderType
from .._symbols import normalise_symbol, split_symbol

__all__ = ["DEFAULT_RULES", "Instrument", "exchange_info_entry", "instrument_for", "instrument_from_exchange_info"]

_ZERO = Decimal(0)


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@attrs.frozen
class Instrument:
    """A tradable symbol and the venue's order rules for it (0 disables a rule).

    :param tick_size: price increment (``PRICE_FILTER.tickSize``).
    :param lot_size: size increment (``LOT_SIZE.stepSize``).
    :param min_notional: minimum price x size in the quote asset (``NOTIONAL.minNotional``).
    :param min_size: smallest size (``LOT_SIZE.minQty``); default one lot.
    :param max_size: largest size (``LOT_SIZE.maxQty``).
    :param min_price: lowest limit price (``PRICE_FILTER.minPrice``).
    :param max_price: highest limit price (``PRICE_FILTER.maxPrice``).
    :param max_notional: largest price x size (``NOTIONAL.maxNotional``).
    :param min_notional_market: apply ``min_notional`` to market orders (``applyMinToMarket``).
    :param max_notional_market: apply ``max_notional`` to market orders (``applyMaxToMarket``).
    :param market_min_size: smallest market order (``MARKET_LOT_SIZE.minQty``).
    :param market_max_size: largest market order (``MARKET_LOT_SIZE.maxQty``).
    :param market_lot_size: market order size increment (``MARKET_LOT_SIZE.stepSize``).
    :param bid_up: a buy's limit at most this x the reference price (``bidMultiplierUp``).
    :param bid_down: a buy's limit at least this x the reference (``bidMultiplierDown``).
    :param ask_up: a sell's limit at most this x the reference (``askMultiplierUp``).
    :param ask_down: a sell's limit at least this x the reference (``askMultiplierDown``).
    :param max_open_orders: open orders allowed on the symbol (``MAX_NUM_ORDERS``).
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal = attrs.field(default=Decimal("0.01"), converter=_dec)
    lot_size: Decimal = attrs.field(default=Decimal("0.00001"), converter=_dec)
    min_notional: Decimal = attrs.field(default=Decimal("5"), converter=_dec)
    min_size: Decimal | None = None
    max_size: Decimal = attrs.field(default=_ZERO, converter=_dec)
    min_price: Decimal = attrs.field(default=_ZERO, converter=_dec)
    max_price: Decimal = attrs.field(default=_ZERO, converter=_dec)
    max_notional: Decimal = attrs.field(default=_ZERO, converter=_dec)
    min_notional_market: bool = True
    max_notional_market: bool = False
    market_min_size: Decimal = attrs.field(default=_ZERO, converter=_dec)
    market_max_size: Decimal = attrs.field(default=_ZERO, converter=_dec)
    market_lot_size: Decimal = attrs.field(default=_ZERO, converter=_dec)
    bid_up: Decimal = attrs.field(default=_ZERO, converter=_dec)
    bid_down: Decimal = attrs.field(default=_ZERO, converter=_dec)
    ask_up: Decimal = attrs.field(default=_ZERO, converter=_dec)
    ask_down: Decimal = attrs.field(default=_ZERO, converter=_dec)
    max_open_orders: int = 0

    def round_size(self, size: Decimal, market: bool = False) -> Decimal:
        """Round down to the lot (and a market order's lot): never bigger than asked."""
        for step in (self.lot_size, self.market_lot_size if market else _ZERO):
            if step:
                size = (size / step).to_integral_value(ROUND_DOWN) * step
        return size

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to the tick in the passive direction: a buy never pays more than its
        limit, a sell never accepts less."""
        if not self.tick_size:
            return price
        mode = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        return (price / self.tick_size).to_integral_value(mode) * self.tick_size

    def check(self, order: Order, reference: Decimal | None, open_orders: int = 0) -> str:
        """Why the venue would refuse ``order`` (already rounded), or ``""``.

        :param reference: the last trade price (percent-price and market notional).
        :param open_orders: orders open on this symbol now.

        The reason starts with the filter's name (``"PRICE_FILTER: ..."``), as Binance's
        ``Filter failure: PRICE_FILTER`` does.
        """
        size, price, market = order.size, order.price, order.type is OrderType.MARKET
        reason = self._check_size(size, market)
        if reason:
            return reason
        if price is not None:
            if self.min_price and price < self.min_price:
                return f"PRICE_FILTER: price {price} below the minimum {self.min_price}"
            if self.max_price and price > self.max_price:
                return f"PRICE_FILTER: price {price} above the maximum {self.max_price}"
            if self.tick_size and price % self.tick_size:
                return f"PRICE_FILTER: price {price} is not a multiple of the tick {self.tick_size}"
            reason = self._check_percent(order.side, price, reference)
            if reason:
                return reason
        notional_price = price if price is not None else reference
        if notional_price is not None:
            notional = notional_price * size
            if self.min_notional and (not market or self.min_notional_market) and notional < self.min_notional:
                return f"NOTIONAL: notional {notional.normalize():f} below the minimum {self.min_notional}"
            if self.max_notional and (not market or self.max_notional_market) and notional > self.max_notional:
                return f"NOTIONAL: notional {notional.normalize():f} above the maximum {self.max_notional}"
        if self.max_open_orders and open_orders >= self.max_open_orders:
            return (f"MAX_NUM_ORDERS: {open_orders} orders open on {self.symbol}, the venue allows "
                    f"{self.max_open_orders}")
        return ""

    def _check_size(self, size: Decimal, market: bool) -> str:
        if size <= 0:
            return f"LOT_SIZE: size rounds to 0 at lot size {self.lot_size}"
        minimum = self.lot_size if self.min_size is None else self.min_size
        if minimum and size < minimum:
            return f"LOT_SIZE: size {size} below the minimum {minimum}"
        if self.max_size and size > self.max_size:
            return f"LOT_SIZE: size {size} above the maximum {self.max_size}"
        if self.lot_size and size % self.lot_size:
            return f"LOT_SIZE: size {size} is not a multiple of the lot {self.lot_size}"
        if market:
            if self.market_min_size and size < self.market_min_size:
                return f"MARKET_LOT_SIZE: size {size} below the minimum {self.market_min_size}"
            if self.market_max_size and size > self.market_max_size:
                return f"MARKET_LOT_SIZE: size {size} above the maximum {self.market_max_size}"
            if self.market_lot_size and size % self.market_lot_size:
                return f"MARKET_LOT_SIZE: size {size} is not a multiple of the lot {self.market_lot_size}"
        return ""

    def _check_percent(self, side: Side, price: Decimal, reference: Decimal | None) -> str:
        if reference is None:
            return ""
        up, down = (self.bid_up, self.bid_down) if side is Side.BUY else (self.ask_up, self.ask_down)
        if up and price > reference * up:
            return (f"PERCENT_PRICE_BY_SIDE: a {side.value} at {price} is above {up} x the last price "
                    f"{reference}")
        if down and price < reference * down:
            return (f"PERCENT_PRICE_BY_SIDE: a {side.value} at {price} is below {down} x the last price "
                    f"{reference}")
        return ""


def instrument_for(symbol: str, overrides: Mapping[str, Instrument] | None = None) -> Instrument:
    """The instrument for ``symbol`` (any spelling): from ``overrides`` (config or the
    venue's rules, keyed by normalised symbol), else inferred from the symbol with
    Binance BTC-USDT-like rules (tick 0.01, lot 0.00001, minimum notional 5)."""
    name = normalise_symbol(symbol)
    if overrides and name in overrides:
        return overrides[name]
    return _inferred(name)


@functools.lru_cache(maxsize=4096)
def _inferred(name: str) -> Instrument:
    # Frozen, so one per symbol serves every order and fill (it was built per call).
    base, quote = split_symbol(name)
    return Instrument(name, base, quote, **DEFAULT_RULES)


#: The rules an instrument has unless configured or loaded from the venue: Binance
#: spot BTCUSDT's percent-price band and open-order cap, beside the class defaults.
DEFAULT_RULES: dict[str, Any] = {"bid_up": Decimal(5), "bid_down": Decimal("0.2"), "ask_up": Decimal(5),
                                 "ask_down": Decimal("0.2"), "max_open_orders": 200}


def exchange_info_entry(inst: Instrument, venue_symbol: str) -> dict[str, Any]:
    """``inst`` as a ``symbols[]`` entry of Binance's ``exchangeInfo`` (what the simulator
    serves; :func:`instrument_from_exchange_info` reads it back unchanged)."""
    def text(value: Decimal) -> str:
        return f"{value:f}"

    return {
        "symbol": venue_symbol, "status": "TRADING", "baseAsset": inst.base, "quoteAsset": inst.quote,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "isSpotTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": text(inst.min_price), "maxPrice": text(inst.max_price),
             "tickSize": text(inst.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": text(inst.lot_size if inst.min_size is None else inst.min_size),
             "maxQty": text(inst.max_size), "stepSize": text(inst.lot_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": text(inst.market_min_size),
             "maxQty": text(inst.market_max_size), "stepSize": text(inst.market_lot_size)},
            {"filterType": "NOTIONAL", "minNotional": text(inst.min_notional),
             "applyMinToMarket": inst.min_notional_market, "maxNotional": text(inst.max_notional),
             "applyMaxToMarket": inst.max_notional_market, "avgPriceMins": 0},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": text(inst.bid_up),
             "bidMultiplierDown": text(inst.bid_down), "askMultiplierUp": text(inst.ask_up),
             "askMultiplierDown": text(inst.ask_down), "avgPriceMins": 0},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": inst.max_open_orders},
        ],
    }


def instrument_from_exchange_info(entry: Mapping[str, Any]) -> Instrument:
    """An instrument from one ``symbols[]`` entry of Binance's ``exchangeInfo``.

    :raises ValueError: when the entry is not shaped like one (a key or number missing).
    """
    try:
        filters: dict[str, Mapping[str, Any]] = {f["filterType"]: f for f in entry.get("filters", ())}
        fields: dict[str, Any] = {}
        price = filters.get("PRICE_FILTER")
        if price:
            fields.update(tick_size=price["tickSize"], min_price=price["minPrice"], max_price=price["maxPrice"])
        lot = filters.get("LOT_SIZE")
        if lot:
            step, minimum = _dec(lot["stepSize"]), _dec(lot["minQty"])
            fields.update(lot_size=step, min_size=None if minimum == step else minimum, max_size=lot["maxQty"])
        market = filters.get("MARKET_LOT_SIZE")
        if market:
            fields.update(market_lot_size=market["stepSize"], market_min_size=market["minQty"],
                          market_max_size=market["maxQty"])
        notional = filters.get("NOTIONAL")
        if notional:
            fields.update(min_notional=notional["minNotional"], max_notional=notional["maxNotional"],
                          min_notional_market=bool(notional["applyMinToMarket"]),
                          max_notional_market=bool(notional["applyMaxToMarket"]))
        elif "MIN_NOTIONAL" in filters:
            legacy = filters["MIN_NOTIONAL"]
            fields.update(min_notional=legacy["minNotional"], min_notional_market=bool(legacy["applyToMarket"]))
        else:
            fields["min_notional"] = _ZERO
        by_side = filters.get("PERCENT_PRICE_BY_SIDE")
        if by_side:
            fields.update(bid_up=by_side["bidMultiplierUp"], bid_down=by_side["bidMultiplierDown"],
                          ask_up=by_side["askMultiplierUp"], ask_down=by_side["askMultiplierDown"])
        elif "PERCENT_PRICE" in filters:
            both = filters["PERCENT_PRICE"]
            fields.update(bid_up=both["multiplierUp"], bid_down=both["multiplierDown"],
                          ask_up=both["multiplierUp"], ask_down=both["multiplierDown"])
        if "MAX_NUM_ORDERS" in filters:
            fields["max_open_orders"] = int(filters["MAX_NUM_ORDERS"]["maxNumOrders"])
        base, quote = str(entry["baseAsset"]), str(entry["quoteAsset"])
        return Instrument(f"{base}-{quote}", base, quote, **fields)
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"exchangeInfo entry for {entry.get('symbol', '?')!s}: {type(exc).__name__} {exc}") from None

