"""Cross-exchange arbitrage of one pair on two venues, written only against botkit's
public API.

It watches the best bid and ask of BTC-USDT on Binance and on OKX. When one venue's bid
is above the other's ask by more than both venues' taker fees plus ``min_edge_bps``, it
sells on the rich venue and buys on the cheap one at once (market orders), so the BTC it
holds in total does not change: what it keeps is the price difference less the fees.

Each venue is a separate spot account (cash and BTC do not move between exchanges by
themselves), so it starts by buying ``inventory`` BTC on each venue (once: a run that
continues a journaled one goes on with what the accounts hold), and each side has
an inventory limit: it never holds less than nothing nor more than ``max_inventory`` on
one venue. Once one venue's BTC is used up, it waits for the spread to turn the other
way. The edge it took, after fees, is logged at each trade and at the end.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import botkit


class Arbitrage(botkit.Strategy):
    """Buy where it is cheap, sell where it is rich, when the gap beats both fees."""

    feeds = (botkit.Feed("binance", "BTC-USDT"), botkit.Feed("okx", "BTC-USDT"))
    channels = ("quotes",)

    size = Decimal("0.01")  # BTC per leg
    inventory = Decimal("0.05")  # BTC bought on each venue at the start
    max_inventory = Decimal("0.1")  # most BTC held on one venue (the least is 0: spot)
    #: Taker fees in basis points, as the venues charge them (the paper broker's default).
    fee_bps: ClassVar[dict[str, Decimal]] = {"binance": Decimal(10), "okx": Decimal(10)}
    min_edge_bps = Decimal(5)  # what must be left after both fees to act
    cooldown_s = 0.5  # after a pair of orders, before the next

    def on_start(self) -> None:
        self.quotes: dict[str, botkit.Quote] = {}
        self.stocked: set[str] = set()
        self.pairs = 0
        self.edge_taken = Decimal(0)  # quote asset, after fees, at the prices seen
        self.quiet_until = 0

    def on_quote(self, quote: botkit.Quote) -> None:
        self.quotes[quote.venue] = quote
        if quote.venue not in self.stocked:
            self.stocked.add(quote.venue)
            stocked = self.state.setdefault("stocked", [])  # kept in the journal: stock once
            if quote.venue not in stocked:
                stocked.append(quote.venue)
                self.buy(self.inventory, venue=quote.venue)  # this venue's share of the BTC
                return
        if len(self.quotes) < 2 or self.open_orders() or self.now_ns < self.quiet_until:
            return
        (a, qa), (b, qb) = self.quotes.items()
        for rich, cheap, bid, ask in ((a, b, qa.bid_price, qb.ask_price), (b, a, qb.bid_price, qa.ask_price)):
            edge_bps = (bid / ask - 1) * 10_000 - self.fee_bps[rich] - self.fee_bps[cheap]
            if edge_bps < self.min_edge_bps:
                continue
            if self.position(venue=rich) < self.size or self.position(venue=cheap) + self.size > self.max_inventory:
                self.log.debug("edge %.1f bps, but no inventory left to sell on %s", edge_bps, rich)
                return
            self.sell(self.size, venue=rich)
            self.buy(self.size, venue=cheap)
            self.pairs += 1
            self.edge_taken += edge_bps / 10_000 * ask * self.size
            self.quiet_until = self.now_ns + int(self.cooldown_s * 1e9)
            self.log.info("sell %s on %s at %s, buy on %s at %s: %.1f bps after fees", self.size, rich, bid,
                          cheap, ask, edge_bps)
            return

    def on_stop(self) -> None:
        held = ", ".join(f"{self.position(venue=v)} BTC on {v}" for v in sorted(self.stocked))
        self.log.warning("arbitrage: %d pairs, about %.2f USDT of edge after fees at the quotes seen; holding %s",
                         self.pairs, self.edge_taken, held or "nothing")
