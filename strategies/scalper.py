"""A small trade-flow scalper, written only against botkit's public API.

Signal: over a rolling window of recent trades, the imbalance between aggressive buy
and sell volume, confirmed by short-term momentum (the last price above/below the
window's volume-weighted average price). It goes long on strong buy pressure, short on
strong sell pressure, and exits on a take-profit, a stop-loss, or when the signal
fades. Orders are paper intents for now: positions are tracked here and logged.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import botkit


class Scalper(botkit.Strategy):
    """Trade-flow imbalance + momentum scalper on BTCUSDT."""

    venue = "binance"
    symbols = ("BTCUSDT",)
    channels = ("trades", "quotes")

    window = 50  # trades in the rolling window
    entry_imbalance = Decimal("0.6")  # |buy - sell| / total volume to enter
    take_profit_bps = Decimal(4)
    stop_loss_bps = Decimal(6)
    size = Decimal("0.01")

    def on_start(self) -> None:
        self.flow: deque[tuple[Decimal, Decimal, Decimal]] = deque(maxlen=self.window)  # signed size, price, size
        self.buy_volume = Decimal(0)
        self.sell_volume = Decimal(0)
        self.notional = Decimal(0)
        self.volume = Decimal(0)
        self.bid = self.ask = Decimal(0)
        self.side = 0  # +1 long, -1 short, 0 flat
        self.entry = Decimal(0)
        self.pnl = Decimal(0)
        self.round_trips = 0
        self.wins = 0
        self.set_timer("report", 60.0, repeat=True)

    def on_quote(self, quote: botkit.Quote) -> None:
        self.bid, self.ask = quote.bid_price, quote.ask_price

    def on_trade(self, trade: botkit.Trade) -> None:
        self._update_window(trade)
        if len(self.flow) < self.window or not self.bid:
            return
        imbalance = (self.buy_volume - self.sell_volume) / self.volume
        vwap = self.notional / self.volume
        if self.side == 0:
            if imbalance >= self.entry_imbalance and trade.price > vwap:
                self._open(+1, self.ask)
            elif imbalance <= -self.entry_imbalance and trade.price < vwap:
                self._open(-1, self.bid)
            return
        exit_price = self.bid if self.side > 0 else self.ask
        move_bps = (exit_price - self.entry) / self.entry * 10_000 * self.side
        faded = imbalance * self.side < 0
        if move_bps >= self.take_profit_bps or move_bps <= -self.stop_loss_bps or faded:
            self._close(exit_price, move_bps)

    def on_timer(self, timer: botkit.Timer) -> None:
        self.log.info(
            "pnl %s over %d round trips (%d won), position %s, last %s",
            self.pnl, self.round_trips, self.wins, self.side * self.size, self.last_price(),
        )

    def on_stop(self) -> None:
        if self.side:
            self._close(self.bid if self.side > 0 else self.ask, Decimal(0))
        self.log.info("final pnl %s over %d round trips (%d won)", self.pnl, self.round_trips, self.wins)

    def _update_window(self, trade: botkit.Trade) -> None:
        if len(self.flow) == self.window:
            signed, price, size = self.flow[0]
            self._account(signed, price, size, -1)
        signed = trade.size if trade.side is botkit.Side.BUY else -trade.size
        self.flow.append((signed, trade.price, trade.size))
        self._account(signed, trade.price, trade.size, +1)

    def _account(self, signed: Decimal, price: Decimal, size: Decimal, sign: int) -> None:
        if signed > 0:
            self.buy_volume += sign * size
        else:
            self.sell_volume += sign * size
        self.notional += sign * price * size
        self.volume += sign * size

    def _open(self, side: int, price: Decimal) -> None:
        if self.trading_halted:
            return
        self.side, self.entry = side, price
        self.log.debug("open %s %s @ %s", "long" if side > 0 else "short", self.size, price)

    def _close(self, price: Decimal, move_bps: Decimal) -> None:
        pnl = (price - self.entry) * self.size * self.side
        self.pnl += pnl
        self.round_trips += 1
        self.wins += pnl > 0
        self.log.debug("close @ %s (%.1f bps)", price, move_bps)
        self.side = 0
