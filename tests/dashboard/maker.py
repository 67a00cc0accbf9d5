"""A strategy for the dashboard's tests: it keeps a few limit buys resting far below the
bid (they never fill, so there are always open orders to cancel) and trades a little at
market (fills, a position), every so many events. It goes on trying while paused, so a
pause shows as refused orders, not as a quiet strategy."""

from __future__ import annotations

from decimal import Decimal

import botkit


class RestingMaker(botkit.Strategy):
    venue = "binance"
    symbols = ("BTC-USDT",)
    channels = ("trades", "quotes")

    resting = 3
    every = 10  # quotes between attempts to rest one more order
    trade_every = 15  # trades between market orders

    def on_start(self) -> None:
        self.quotes = self.trades = 0

    def on_quote(self, quote: botkit.Quote) -> None:
        self.quotes += 1
        if self.quotes % self.every == 0 and len(self.open_orders()) < self.resting:
            self.buy(Decimal("0.001"), price=(quote.bid_price * Decimal("0.95")).quantize(Decimal("0.01")))

    def on_trade(self, trade: botkit.Trade) -> None:
        self.trades += 1
        if self.trades % self.trade_every == 0:
            if self.position() >= Decimal("0.002"):
                self.sell(Decimal("0.002"))
            else:
                self.buy(Decimal("0.001"))
