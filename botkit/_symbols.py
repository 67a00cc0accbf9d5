"""Normalised symbols: one spelling, ``BASE-QUOTE`` (e.g. ``BTC-USDT``), on every venue.

Events carry the normalised ``symbol`` and the venue's own spelling in ``venue_symbol``;
users may write either (``BTCUSDT``, ``btc-usdt``, ``XBT/USD`` all work) wherever a
symbol is asked for.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["QUOTE_ASSETS", "normalise_symbol", "split_symbol"]

#: Quote assets recognised at the end of concatenated symbols (``BTCUSDT``), longest
#: first so ``FDUSD`` wins over ``USD``.
QUOTE_ASSETS = tuple(sorted(
    ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "GBP", "TRY",
     "USD", "JPY", "AUD", "BRL", "CHF", "CAD"),
    key=len, reverse=True,
))
#: Legacy asset codes some venues still use (Kraken).
_ASSET_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}


@lru_cache(maxsize=65_536)
def normalise_symbol(symbol: str) -> str:
    """The normalised spelling of ``symbol``.

    >>> normalise_symbol("BTCUSDT"), normalise_symbol("XBT/USD"), normalise_symbol("btc-usdt-swap")
    ('BTC-USDT', 'BTC-USD', 'BTC-USDT-SWAP')
    >>> normalise_symbol("BTCUSD_PERP")
    'BTC-USD-PERP'

    Unknown shapes are kept (upper-cased): a symbol is never invented.
    """
    text = symbol.strip().upper().replace("/", "-").replace("_", "-")
    if not text:
        return text
    head, dash, tail = text.partition("-")
    if not dash or not _looks_like_pair(head, tail):
        for quote in QUOTE_ASSETS:
            if head.endswith(quote) and len(head) > len(quote):
                head = f"{head[: -len(quote)]}-{quote}"
                break
        text = head + dash + tail
    parts = text.split("-")
    return "-".join(_ASSET_ALIASES.get(part, part) for part in parts)


def _looks_like_pair(head: str, tail: str) -> bool:
    # "BTC-USDT..." is already split; "BTCUSD-PERP" (a contract suffix) is not.
    quote = tail.split("-", 1)[0]
    return quote in QUOTE_ASSETS or (quote.isalpha() and not head.endswith(QUOTE_ASSETS))


def split_symbol(symbol: str) -> tuple[str, str]:
    """``(base, quote)`` of a symbol in any spelling (``("BTC-USDT", ...)``); the quote
    is ``"QUOTE"`` when it cannot be told."""
    parts = normalise_symbol(symbol).split("-")
    if len(parts) >= 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    return parts[0], "QUOTE"
