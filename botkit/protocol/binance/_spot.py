"""Sans-IO parser for Binance spot market streams: frame bytes in, typed events out.

Handles raw (``/ws/<stream>``) and combined (``/stream?streams=...``) envelopes for
``trade``, ``aggTrade``, ``bookTicker``, diff ``depth`` and ``kline_<i>`` streams.
Subscription acks and REST depth snapshots are classified as ignorable (counted in
``ignored``); anything else malformed or unknown raises :class:`~botkit.ParseError`,
never another exception.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import MethodType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from ..._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade, fast_constructor, fields_twin
from ..._exceptions import ParseError
from ..._symbols import normalise_symbol
from .. import _compiled
from .._common import BOUNDS, MAX_VALUE, MIN_PRICE, SymbolNames, check, decimal_levels
from .._parser import ParserRules
from . import _messages as m

__all__ = ["BinanceSpotParser", "depth_snapshot"]

VENUE = "binance"
_MS = 1_000_000
_ZERO = Decimal(0)
_BUY = Side.BUY
_SELL = Side.SELL
_STREAM_PREFIX = b'{"stream":"'
# Wire fields of a trade payload, in the compiled decoder's order:
# (symbol, id, price, size, time, buyer_is_maker).
_TRADE_FIELDS = ("s", "t", "p", "q", "T", "m")
_AGG_TRADE_FIELDS = ("s", "a", "p", "q", "T", "m")


def _layout(text: str) -> bytes:
    """A message's usual shape for the compiled path: its exact text with each value
    named by a one-byte code (``<uint>`` a number skipped, ``<bool>`` a boolean skipped)."""
    codes = {"<uint>": 1, "<symbol>": 2, "<id>": 3, "<price>": 4, "<size>": 5, "<time>": 6, "<maker>": 7, "<bool>": 8}
    for name, code in codes.items():
        text = text.replace(name, chr(code))
    return text.encode()


# As Binance sends them (field order included); another shape is decoded by msgspec.
_TRADE_LAYOUT = _layout('{"e":"trade","E":<uint>,"s":<symbol>,"t":<id>,"p":<price>,"q":<size>,"T":<time>,'
                        '"m":<maker>,"M":<bool>}')
_AGG_TRADE_LAYOUT = _layout('{"e":"aggTrade","E":<uint>,"s":<symbol>,"a":<id>,"p":<price>,"q":<size>,'
                            '"f":<uint>,"l":<uint>,"T":<time>,"m":<maker>,"M":<bool>}')

Handler = Callable[[Any, int], list[Event]]
FrameHandler = Callable[[bytes, int], list[Event]]
_NO_STREAM = b'{"stream":"\x00"'  # matches no valid frame (JSON strings hold no raw NUL)
_trade_event = fast_constructor(Trade)
_quote_event = fast_constructor(Quote)
_delta_event = fast_constructor(BookDelta)
#: Streams the compiled front routes itself (a symbol's trades, quotes, depth and klines).
_ROUTES = 4


def _unknown_stream(frame: bytes, ts_recv: int) -> list[Event]:
    raise ParseError("unknown Binance stream", frame)


def _checked(price: Decimal, size: Decimal) -> bool:
    check(price, size)
    return True


def _channel_type(channel: bytes) -> type | None:
    """Map a stream's channel (the part after ``symbol@``) to its payload type."""
    if channel in (b"trade", b"aggTrade", b"bookTicker"):
        return m.RAW_EVENT_TYPES[channel]
    if channel == b"depth" or channel.startswith(b"depth@"):
        return m.DepthMsg
    if channel.startswith(b"kline_"):
        return m.KlineMsg
    return None


def depth_snapshot(symbol: str, msg: m.DepthSnapshotMsg, ts_recv: int, venue: str = VENUE,
                   caches: tuple[dict[str, Decimal], dict[str, Decimal]] | None = None) -> BookSnapshot:
    """A REST ``/api/v3/depth`` answer as a :class:`BookSnapshot` (no exchange time);
    ``caches``: the parser's (prices, sizes) decimal caches."""
    name = normalise_symbol(symbol) if symbol else ""
    prices, sizes = caches or ({}, {})
    return BookSnapshot(venue, name, decimal_levels(msg.bids, prices, sizes), decimal_levels(msg.asks, prices, sizes),
                        msg.lastUpdateId, 0, ts_recv, symbol)


#: (parser class, venue) -> the decimals its compiled decoders keep, by text: one cache
#: for all of them, so feeds of one venue decoding in turn (a merged backtest) keep one
#: working set in the CPU's caches (two of their own made every line about 25 % slower).
#: Bounded by the decoders (they clear it at 32,768 texts); a Decimal is immutable, and
#: the decoders of one parser class check values against the same bounds.
_DECIMALS: dict[tuple[type, str], dict[str, Any]] = {}


class BinanceSpotParser(ParserRules):
    """Parse Binance spot frames into events; with ``venue="binance-futures"`` the same
    parser reads USD-M / coin-M futures streams (aggTrade, bookTicker with ``T``,
    depthUpdate with ``pu``, kline).

    Example::

        parser = BinanceSpotParser()
        events = parser.parse(frame_bytes, ts_recv=time.time_ns())

    :ivar ignored: frames classified as ignorable (acks, REST snapshots) so far.
    """

    book_snapshots = "rest"
    trade_ids = "contiguous"

    def __init__(self, venue: str = VENUE) -> None:
        self.venue = venue
        self.ignored = 0
        # Venue symbol -> normalised, filled as symbols appear (a handful per feed).
        self._names = SymbolNames()
        # Quote and depth levels' Decimals by their text: (prices, sizes), see decimal_levels.
        self._caches: tuple[dict[str, Decimal], dict[str, Decimal]] = ({}, {})
        self._handlers: dict[type, Handler] = {
            m.TradeMsg: self._trade_handler(),
            m.AggTradeMsg: self._agg_trade,
            m.BookTickerMsg: self._book_ticker,
            m.DepthMsg: self._depth,
            m.KlineMsg: self._kline,
        }
        # One frame handler per combined stream, built lazily and reused; the last one
        # used is kept with its frame prefix (``{"stream":"btcusdt@trade"``).
        self._combined: dict[bytes, FrameHandler | None] = {}
        self._hot_prefix: bytes = _NO_STREAM
        self._hot: FrameHandler = _unknown_stream
        # With the compiled path, ``parse`` is an instance attribute: frames of the recent
        # streams go from C straight to their handlers; all else to the method below.
        self._front: Any = None
        # Chosen once, here: handlers built later (lazily, per stream) follow this choice.
        self._trade_decoder = _compiled.TradeDecoder
        if _compiled.HotPath is not None:
            self._front = _compiled.HotPath(MethodType(BinanceSpotParser.parse, self))
            self.parse = self._front  # type: ignore[method-assign]
        self._raw = {
            tag: (msgspec.json.Decoder(cls), self._handlers[cls]) for tag, cls in m.RAW_EVENT_TYPES.items()
        }

    def parse(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Turn one frame into zero or more events.

        :param frame: the frame exactly as received (text frames may be ``str``).
        :param ts_recv: local receive time, integer nanoseconds.
        :raises ParseError: if the frame is malformed or of an unknown kind.
        """
        if isinstance(frame, str):
            frame = frame.encode()
        try:
            # A feed sends runs of the same stream: one prefix test finds its handler.
            if frame.startswith(self._hot_prefix):
                return self._hot(frame, ts_recv)
            if frame.startswith(_STREAM_PREFIX):
                end = frame.find(b'"', 11)
                stream = frame[11:end]
                handle = self._combined[stream] if stream in self._combined else self._combined_handler(stream)
                if handle is None:
                    raise ParseError("unknown Binance stream", frame)
                self._hot_prefix, self._hot = frame[: end + 1], handle
                if self._front is not None:  # the newest first, the oldest dropped
                    routes = [r for r in self._front.routes or () if r[0] != self._hot_prefix][: _ROUTES - 1]
                    self._front.routes = ((self._hot_prefix, handle), *routes)
                return handle(frame, ts_recv)
            return self._parse_raw(frame, ts_recv)
        except ParseError:
            raise
        except (msgspec.MsgspecError, ValueError, ArithmeticError, TypeError, UnicodeError) as exc:
            raise ParseError(f"malformed Binance frame ({exc})", frame) from None

    def _combined_handler(self, stream: bytes) -> FrameHandler | None:
        _, at, channel = stream.partition(b"@")
        cls = _channel_type(channel) if at else None
        handle = self._frame_handler(cls) if cls else None
        if len(self._combined) < 4096:  # streams are few; never grow without bound on garbage
            self._combined[stream] = handle
        return handle

    def _frame_handler(self, cls: type) -> FrameHandler:
        """Combined-stream frame in, events out: the typed decode of the envelope, then
        the payload's handler (fused into one function for trades, the hottest path)."""
        decoder = msgspec.json.Decoder(m.combined(cls))
        if cls is m.TradeMsg or cls is m.AggTradeMsg:
            compiled = self._compiled_trades(decoder, cls)
            if compiled is not None:
                handler: FrameHandler = compiled
                return handler
        decode: Callable[[bytes], Any] = decoder.decode
        if cls is m.TradeMsg:
            trades: FrameHandler = self._trade_handler(decode)
            return trades
        handle = self._handlers[cls]
        return lambda frame, ts_recv: handle(decode(frame).data, ts_recv)

    def rest_trades_request(self, path: str) -> tuple[str, int] | None:
        """``(symbol, limit)`` of a ``historicalTrades`` / ``aggTrades`` backfill path."""
        target = urlsplit(path)
        if not target.path.endswith(("/historicalTrades", "/aggTrades")):
            return None
        query = parse_qs(target.query)
        limit = query.get("limit", ["500"])[0]
        return normalise_symbol(query.get("symbol", [""])[0]), int(limit) if limit.isdigit() else 500

    def compiled_trades(self) -> Any:
        """The compiled decoder of combined-stream ``@trade`` frames (it also consumes
        runs of recording lines, see :meth:`FrameDecoder.decode_run`), or None."""
        return self._compiled_trades(msgspec.json.Decoder(m.combined(m.TradeMsg)), m.TradeMsg)

    def _compiled_trades(self, decoder: msgspec.json.Decoder[Any], cls: type) -> Any:
        if self._trade_decoder is None:
            return None
        agg = cls is m.AggTradeMsg
        text = m.AggTradeText if agg else m.TradeText
        return self._trade_decoder(
            decimals=_DECIMALS.setdefault((type(self), self.venue), {}),
            decode=decoder.decode, decode_message=msgspec.json.Decoder(text).decode, envelope=decoder.type,
            unwrap="data", message=cls, text_message=text, layout=_AGG_TRADE_LAYOUT if agg else _TRADE_LAYOUT,
            fields=_AGG_TRADE_FIELDS if agg else _TRADE_FIELDS, event=Trade, venue=self.venue, names=self._names,
            buy=_BUY, sell=_SELL, check=check, bounds=BOUNDS, time_scale=_MS, stream_prefix=_STREAM_PREFIX,
            stream_suffix=b"@aggTrade" if agg else b"@trade",
        )

    def _parse_raw(self, frame: bytes, ts_recv: int) -> list[Event]:
        pos = frame.find(b'"e":"')
        if pos >= 0:
            entry = self._raw.get(frame[pos + 5 : frame.find(b'"', pos + 5)])
            if entry is not None:
                return entry[1](entry[0].decode(frame), ts_recv)
        return self._parse_generic(frame, ts_recv)

    def _rest(self, path: str, data: Any, ts_recv: int, frame: bytes) -> list[Event]:
        target = urlsplit(path)
        symbol = parse_qs(target.query).get("symbol", [""])[0]
        if not symbol:
            raise ParseError("REST answer without a symbol", frame)
        name, venue, path = self._names[symbol], self.venue, target.path
        if path.endswith("/depth"):
            return [depth_snapshot(symbol, msgspec.convert(data, m.DepthSnapshotMsg), ts_recv, venue, self._caches)]
        if path.endswith("/historicalTrades"):
            return [
                Trade(venue, name, t.price, t.qty, _SELL if t.isBuyerMaker else _BUY, t.id, t.time * _MS, ts_recv,
                      symbol)
                for t in msgspec.convert(data, list[m.RestTradeMsg])
                if _checked(t.price, t.qty)
            ]
        if path.endswith("/aggTrades"):
            return [
                Trade(venue, name, t.p, t.q, _SELL if t.m else _BUY, t.a, t.T * _MS, ts_recv, symbol)
                for t in msgspec.convert(data, list[m.RestAggTradeMsg])
                if _checked(t.p, t.q)
            ]
        raise ParseError("unknown Binance REST answer", frame)

    def _parse_generic(self, frame: bytes, ts_recv: int) -> list[Event]:
        """Slow path for any other layout (whitespace, key order, acks, errors)."""
        obj = msgspec.json.decode(frame)
        if not isinstance(obj, dict):
            raise ParseError("unknown Binance frame (not a JSON object)", frame)
        if isinstance(obj.get("stream"), str) and "data" in obj:
            _, at, channel = obj["stream"].partition("@")
            cls = _channel_type(channel.encode()) if at else None
            if cls is None:
                raise ParseError("unknown Binance stream", frame)
            return self._handlers[cls](msgspec.convert(obj["data"], cls), ts_recv)
        if "e" in obj:
            cls = m.RAW_EVENT_TYPES.get(str(obj["e"]).encode())
            if cls is None:
                raise ParseError("unknown Binance event type", frame)
            return self._handlers[cls](msgspec.convert(obj, cls), ts_recv)
        if isinstance(obj.get("rest"), str) and isinstance(obj.get("data"), dict | list):
            return self._rest(obj["rest"], obj["data"], ts_recv, frame)
        if "lastUpdateId" in obj:
            # A bare REST depth snapshot (as in headerless captures): the symbol is unknown
            # here; FrameDecoder assigns it to the one symbol waiting for a snapshot.
            return [depth_snapshot("", msgspec.convert(obj, m.DepthSnapshotMsg), ts_recv, self.venue, self._caches)]
        if "code" in obj:
            err = msgspec.convert(obj, m.ErrorMsg)
            raise ParseError(f"Binance error frame {err.code}: {err.msg}", frame)
        if "result" in obj and "id" in obj:
            self.ignored += 1
            return []
        if "u" in obj:
            return self._book_ticker(msgspec.convert(obj, m.BookTickerMsg), ts_recv)
        raise ParseError("unknown Binance frame", frame)

    # -- payload handlers (msgspec struct in, events out) ---------------------------------

    def _trade_handler(self, decode: Callable[[bytes], Any] | None = None) -> Any:
        """The handler of the hottest path of a backtest (a ``trade`` frame): a closure,
        so everything it uses is a cell load, not an attribute lookup; the range check
        and the event's construction (through its fields twin) are inlined. With
        ``decode`` (the combined envelope's decoder) it takes the frame itself."""
        venue, names, unwrap = self.venue, self._names, decode is not None
        new, twin, cls = object.__new__, fields_twin(Trade), Trade
        lowest, highest = MIN_PRICE, MAX_VALUE

        def trade(msg: Any, ts_recv: int) -> list[Event]:
            if unwrap:
                msg = decode(msg).data  # type: ignore[misc]
            price, size, symbol = msg.p, msg.q, msg.s
            if not (price.is_finite() and size.is_finite() and lowest <= price <= highest
                    and _ZERO <= size <= highest):
                check(price, size)
            event: Any = new(twin)
            event.venue = venue
            event.symbol = names[symbol]
            event.price = price
            event.size = size
            # "m": the buyer is the maker, so the aggressor sold.
            event.side = _SELL if msg.m else _BUY
            event.trade_id = msg.t
            event.ts_exchange = msg.T * _MS
            event.ts_recv = ts_recv
            event.venue_symbol = symbol
            event.__class__ = cls
            return [event]

        return trade

    def _agg_trade(self, msg: m.AggTradeMsg, ts_recv: int) -> list[Event]:
        check(msg.p, msg.q)
        side = _SELL if msg.m else _BUY
        return [_trade_event(self.venue, self._names[msg.s], msg.p, msg.q, side, msg.a, msg.T * _MS, ts_recv, msg.s)]

    def _book_ticker(self, msg: m.BookTickerMsg, ts_recv: int) -> list[Event]:
        prices, sizes = self._caches
        (bid, bid_size), (ask, ask_size) = decimal_levels([(msg.b, msg.B), (msg.a, msg.A)], prices, sizes)
        # Spot bookTicker carries no exchange time (futures send T): 0 says "not sent".
        return [_quote_event(self.venue, self._names[msg.s], bid, bid_size, ask, ask_size, msg.u, msg.T * _MS, ts_recv,
                             msg.s)]

    def _depth(self, msg: m.DepthMsg, ts_recv: int) -> list[Event]:
        if msg.u < msg.U:
            raise ParseError(f"depthUpdate with U {msg.U} > u {msg.u}")
        prices, sizes = self._caches
        return [
            _delta_event(
                self.venue, self._names[msg.s], decimal_levels(msg.b, prices, sizes),
                decimal_levels(msg.a, prices, sizes), msg.U, msg.u, msg.E * _MS, ts_recv, msg.pu, msg.s, None,
            )
        ]

    def _kline(self, msg: m.KlineMsg, ts_recv: int) -> list[Event]:
        k = msg.k
        for price in (k.o, k.h, k.l, k.c):
            check(price, k.v)
        return [
            Bar(self.venue, self._names[msg.s], k.i, k.o, k.h, k.l, k.c, k.v, k.t * _MS, k.T * _MS, k.x, ts_recv,
                msg.s)
        ]
