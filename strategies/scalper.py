"""A small trade-flow scalper, written only against botkit's public API.

Signal: over a rolling window of recent trades, the imbalance between aggressive buy
and sell volume, confirmed by short-term momentum (the last price above/below the
window's volume-weighted average price). It goes long on strong buy pressure (and, with
``short = True`` on a margin account, short on strong sell pressure; a spot account
cannot sell what it does not hold), with market orders, and exits on a take-profit, a
stop-loss, or when the flow turns against it. One order in flight at a time; the engine's portfolio is the
source of truth for the position.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import botkit


class Scalper(botkit.Strategy):
    """Trade-flow imbalance + momentum scalper on BTC-USDT."""

    venue = "binance"
    symbols = ("BTC-USDT",)
    channels = ("trades", "quotes")

    window = 50  # trades in the rolling window
    entry_imbalance = Decimal("0.6")  # |buy - sell| / total volume to enter
    take_profit_bps = Decimal(25)
    stop_loss_bps = Decimal(15)
    size = Decimal("0.01")
    short = False  # True needs a margin account: paper.margin = true in the config

    def on_start(self) -> None:
        self.flow: deque[tuple[bool, Decimal, Decimal]] = deque(maxlen=self.window)  # (buy?, size, notional)
        self.buy_volume = self.sell_volume = self.notional = self.volume = Decimal(0)
        self.bid = self.ask = Decimal(0)
        self.working: str | None = None  # client id of the order in flight
        self.set_timer("report", 60.0, repeat=True)

    def on_quote(self, quote: botkit.Quote) -> None:
        self.bid, self.ask = quote.bid_price, quote.ask_price

    def on_trade(self, trade: botkit.Trade) -> None:
        self._update_window(trade)
        if len(self.flow) < self.window or self.working or self.trading_halted:
            return
        # Compared as products, not quotients: imbalance = net / volume >= entry_imbalance
        # is net >= entry_imbalance * volume (volume > 0), and a Decimal division costs
        # several multiplications.
        net = self.buy_volume - self.sell_volume
        threshold = self.entry_imbalance * self.volume
        position = self.position()
        if not position:
            value = trade.price * self.volume  # above or below the VWAP, times volume
            if net >= threshold and value > self.notional:
                self.working = self.buy(self.size)
            elif self.short and net <= -threshold and value < self.notional:
                self.working = self.sell(self.size)
            return
        long = position > 0
        entry = self.portfolio.position("BTC-USDT").avg_price
        # Where we would exit: the touch; on a feed without quotes, the last trade.
        exit_price = (self.bid if long else self.ask) or trade.price
        gain_bps_x_entry = (exit_price - entry if long else entry - exit_price) * 10_000
        # Flow strongly against us ends the trade early.
        against = (net if long else -net) <= -threshold
        if (gain_bps_x_entry >= self.take_profit_bps * entry or gain_bps_x_entry <= -self.stop_loss_bps * entry
                or against):
            self.working = self.sell(position) if long else self.buy(-position)

    def on_order(self, update: botkit.OrderUpdate) -> None:
        if update.client_id == self.working and update.status.value in ("filled", "rejected", "cancelled"):
            self.working = None
            if update.status.value == "rejected":
                self.log.warning("order rejected: %s", update.reason)

    def on_timer(self, timer: botkit.Timer) -> None:
        pos = self.portfolio.position("BTC-USDT")
        self.log.info("position %s, realised %s, fees %s, last %s",
                      pos.size, pos.realised_pnl, pos.fees, self.last_price())

    def on_stop(self) -> None:
        position = self.position()
        if position:  # flatten: the engine fills it at the last quote
            self.sell(position) if position > 0 else self.buy(-position)

    def _update_window(self, trade: botkit.Trade) -> None:
        # Running sums over the window: add the new trade, take out the one it evicts
        # (each entry keeps its notional so it is multiplied once, not twice).
        flow = self.flow
        if len(flow) == self.window:
            is_buy, size, notional = flow[0]
            if is_buy:
                self.buy_volume -= size
            else:
                self.sell_volume -= size
            self.notional -= notional
            self.volume -= size
        size = trade.size
        notional = trade.price * size
        is_buy = trade.side is botkit.Side.BUY
        flow.append((is_buy, size, notional))
        if is_buy:
            self.buy_volume += size
        else:
            self.sell_volume += size
        self.notional += notional
        self.volume += size
