"""A local exchange on loopback speaking a venue's stream protocol, with fault injection.

The market is Binance frames (a recording or a generator). With ``venue="binance"`` they
are sent verbatim; for any other venue each trade and book diff (and each quote, where
the venue's encoder has ``encode_quote``) is re-encoded in that venue's protocol (its
encoder), books carry the venue's sequence ids and checksums, and a
client's subscribe message is answered with the venue's acks and a snapshot of every
book: what botkit's live feed needs to be tested offline on every venue.

One market timeline (a recording) is broadcast to every connected client. While no
client is connected the timeline pauses, so a reconnecting client misses nothing that
was not already sent: "every trade the simulator sent" is well defined for tests.
REST: ``GET /api/v3/depth?symbol=S&limit=N`` answers a snapshot of the venue's true
book, kept from every depth diff in the data (including the ones a ``gap`` fault did
not send), with its ``lastUpdateId``: what the live feed's book resync needs.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import anyio
import attrs
from anyio.abc import ByteStream, SocketAttribute, SocketListener, SocketStream, TaskStatus

from .._events import BookDelta, BookSnapshot, Quote, Side, Trade
from .._exceptions import ParseError
from ..protocol import venue_for
from ..protocol._book import OrderBook
from ..protocol.binance import BinanceSpotParser
from ..sources import RecordingReader
from ..sources._wsconn import ConnectionClosed, HandshakeError, WebSocket, accept
from ._faults import Fault
from ._rest import RestVenue, http_answer
from ._stats import SimStats
from ._stream import ControlledStream
from ._trading import TradingVenue

__all__ = ["ExchangeSimulator", "Timeline"]

log = logging.getLogger("botkit.sim")

_GARBAGE = "}{ not json \x00"
_END_OF_DATA = "end of data"
_HEAD_LIMIT = 16 * 1024
_MIN_FRAMES_BETWEEN_FAULTS = 30


class Timeline:
    """The start of a timeline several simulators share (one per venue of a multi-venue
    recording): the first frame's receive time and the moment it went out, so each keeps
    the recorded timing relative to the others."""

    def __init__(self) -> None:
        self._start: tuple[int, float] | None = None

    def start(self, ts: int) -> tuple[int, float]:
        """``(first receive ns, loop time it was sent)``: fixed by the first call."""
        if self._start is None:
            self._start = (ts, anyio.current_time())
        return self._start


@attrs.define(eq=False)
class _Client:
    ws: WebSocket
    stream: ControlledStream
    gone: anyio.Event = attrs.Factory(anyio.Event)
    subscribed: bool = False
    #: Symbols whose book snapshot this client got since its last subscribe.
    snapshotted: set[str] = attrs.Factory(set)


class ExchangeSimulator:
    """Serve a recording over WebSocket on loopback.

    Example (inside a task group, e.g. the engine's)::

        sim = ExchangeSimulator("examples/data/binance-btcusdt-sample.txt.gz", speed=0)
        url = await nursery.start(sim.serve)

    :param data: recording to serve (its frames are sent verbatim), or an iterable or async
        iterable of ``(receive ns, frame)`` (e.g. an endless generated market, one venue's
        share of a multi-venue recording).
    :param speed: 1.0 = recorded pace, 10 = ten times faster, 0 = as fast as possible.
    :param faults: fault schedule.
    :param port: TCP port (0 picks a free one).
    :param refuse_count: connection attempts refused after a ``refuse`` fault.
    :param stall_timeout_s: how long a stalled connection is held before the server drops it.
    :param end_when_done: at the end of the data close clients with 1000 "end of data"
        (and answer later handshakes the same way); REST keeps answering until the
        owner cancels :meth:`serve`.
    :param pause_when_idle: pause the timeline while no client is connected (False: the
        market goes on, as a real one does, and a reconnecting client must backfill).
    :param rest_weight_limit: REST request weight allowed per rolling minute (429 above it,
        418 for a client that keeps going after 429s).
    :param storm_size: REST requests answered 429 after a ``429`` fault.
    :param venue: protocol to speak (see the module docstring).
    :param plan: extra faults injected in this order, one every ``plan_every`` frames
        counted from the previous one, each only when a client has been connected for a
        while: every planned fault is a separate outage of a working connection.
    :param trading: serve Binance's spot WebSocket API on ``/ws-api/v3`` with this
        trading venue (orders matched against the market served here).
    :param batch_bytes: at speed 0, send market frames in writes of about this many bytes
        (0: one write per frame). One write per frame makes the simulator, not the client
        under test, the bottleneck of a throughput benchmark; per frame keeps a client in
        the same process in step with the market, as the fault tests expect.
    :param timeline: at ``speed`` > 0, the timeline shared with other simulators (their
        frames keep their recorded timing relative to each other); None: this one's own.
    """

    def __init__(
        self,
        data: str | Path | Iterable[tuple[int, bytes]] | AsyncIterable[tuple[int, bytes]],
        *,
        speed: float = 1.0,
        faults: list[Fault] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        refuse_count: int = 3,
        stall_timeout_s: float = 30.0,
        end_when_done: bool = True,
        pause_when_idle: bool = True,
        rest_weight_limit: int = 6_000,
        storm_size: int = 5,
        plan: list[str] | None = None,
        plan_every: int = 500,
        venue: str = "binance",
        batch_bytes: int = 0,
        trading: TradingVenue | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        #: The WebSocket API (``/ws-api/v3``) and its matching engine, when it trades.
        self.trading = trading
        self.data = (data if isinstance(data, Iterable | AsyncIterable) and not isinstance(data, str | Path)
                     else str(data))
        self.timeline = timeline
        self.speed = speed
        self.batch_bytes = batch_bytes
        self.faults = faults or []
        self.host = host
        self.port = port
        self.refuse_count = refuse_count
        self.stall_timeout_s = stall_timeout_s
        self.end_when_done = end_when_done
        self.pause_when_idle = pause_when_idle
        self.rest_weight_limit = rest_weight_limit
        self.storm_size = storm_size
        self._trade_history: list[tuple[int, str, str, int, bool]] = []
        self._trade_frames: list[bytes] = []
        self.rest = RestVenue(self, rest_weight_limit)
        #: With ``record_books``: (symbol, update id) -> hash of the book's levels after it,
        #: so a client's book can be checked at every update id it reaches.
        self.book_history: dict[tuple[str, int], int] | None = None
        self._due: list[str] = list(plan or [])
        self.plan_every = plan_every
        self._last_planned = 0
        self._connected_frames = 0
        #: Set when every planned fault was injected; an iterable data source then ends
        #: after ``tail_frames`` more frames (a quiet end: everything can catch up).
        self.plan_done = anyio.Event()
        self.tail_frames = 3_000
        self.stats = SimStats()
        self.url = ""
        self._socket: socket.socket | None = None
        #: Every trade frame sent, in order (tests compare it with what the strategy got).
        self.sent_trades: list[bytes] = []
        self.record_sent = False
        self._clients: list[_Client] = []
        self._joined = anyio.Event()
        self._refusing = 0
        self._skip_next_trade = False
        self._skip_next_depth = False
        self._parser = BinanceSpotParser()
        self.venue = venue_for(venue)
        self._transcode = venue != "binance"
        self._encoder = self.venue.encoder()
        self._encode_quote = getattr(self._encoder, "encode_quote", None)
        self._checksum = self.venue.parser().book_checksum
        #: Per-symbol book message counter: the venue's sequence ids (OKX seqId, Bybit u).
        self._book_seq: dict[str, int] = {}
        # The venue's true books, from every diff in the data (sent or skipped).
        self.books: dict[str, OrderBook] = {}
        self.done = anyio.Event()

    def listen(self) -> str:
        """Open the listening socket now (before the event loop runs) and return the
        ws:// URL :meth:`serve` will answer on: a client can be built with it before the
        simulator starts."""
        if self._socket is None:
            sock = socket.create_server((self.host, self.port))
            sock.setblocking(False)
            self._socket = sock
            self.url = f"ws://{self.host}:{sock.getsockname()[1]}/stream"
        return self.url

    async def serve(self, *, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen (on the socket of :meth:`listen` if it was called), report the ws:// URL
        through ``task_status``, broadcast the data."""
        listener: Any
        if self._socket is not None:
            listener = await SocketListener.from_socket(self._socket)
        else:
            listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
            self.url = f"ws://{self.host}:{listener.extra(SocketAttribute.local_port)}/stream"
        async with listener, anyio.create_task_group() as nursery:
            nursery.start_soon(listener.serve, self._connection)
            task_status.started(self.url)
            await self._broadcast()
            self.done.set()
            if self.end_when_done:
                for client in list(self._clients):
                    await self._close(client, 1000, _END_OF_DATA)

    # -- the timeline -------------------------------------------------------------------

    async def _frames(self) -> AsyncIterator[tuple[int, bytes]]:
        if isinstance(self.data, AsyncIterable):
            async for item in self.data:
                yield item
            return
        if not isinstance(self.data, str):
            tail = -1
            for item in self.data:
                yield item
                if tail < 0 and self.plan_done.is_set():
                    tail = self.tail_frames
                if tail == 0:
                    return
                tail -= tail > 0
            return
        async for _, ts, frame in RecordingReader(self.data).frames():
            yield ts, frame

    async def _broadcast(self) -> None:
        first_ts = -1
        started = 0.0
        batch = self.batch_bytes if self.speed == 0 else 0
        async for ts, frame in self._frames():
            if not self._clients and (self.pause_when_idle or not self.stats.connections):
                paused = anyio.current_time()
                await self._wait_for_client()
                started += anyio.current_time() - paused
            if self.speed > 0:
                if first_ts < 0:
                    first_ts, started = self.timeline.start(ts) if self.timeline else (ts, anyio.current_time())
                await anyio.sleep_until(started + (ts - first_ts) / 1e9 / self.speed)
            is_trade = b'@trade"' in frame or b'@aggTrade"' in frame
            if self.trading is not None:
                await self._trade_against(frame, ts)
            if is_trade:
                self._trade_frames.append(frame)
            if is_trade and self._skip_next_trade:
                self._skip_next_trade = False
                self.stats.trades_skipped += 1
                continue
            if not is_trade and (b'"lastUpdateId"' in frame or b'@depth' in frame):
                self._track_book(frame, ts)
                if self._skip_next_depth and b"@depth" in frame:
                    self._skip_next_depth = False
                    self.stats.depth_skipped += 1
                    if self._transcode:
                        self._encode(frame, ts)  # numbered, as the venue would, but never sent
                    continue
            book_symbol = None
            text: str | bytes | None
            if self._transcode:
                text, book_symbol = self._encode(frame, ts)
                if text is None:
                    continue  # nothing this venue would send (a quote, where its encoder has none)
            else:
                text = frame
            for client in list(self._clients):
                if book_symbol is not None and client.subscribed and book_symbol not in client.snapshotted:
                    await self._snapshot(client, book_symbol)  # the venue's book first, then diffs
                if client.ws.buffer(text) >= batch:
                    await self._flush(client)
            self.stats.frames_sent += 1
            if is_trade:
                self.stats.trades_sent += 1
                if self.record_sent:
                    self.sent_trades.append(frame)
            if self.faults or self._due:
                await self._inject(self.stats.frames_sent)
        for client in list(self._clients):
            await self._flush(client)

    async def _trade_against(self, frame: bytes, ts: int) -> None:
        """Let the trading venue's resting orders meet this market frame."""
        assert self.trading is not None
        try:
            events = self._parser.parse(frame, ts)
        except ParseError:
            return
        if events:
            await self.trading.on_market(events)

    def _encode(self, frame: bytes, ts: int) -> tuple[str | None, str | None]:
        """A market frame in this venue's protocol (trades and book diffs), and the
        symbol whose book it changes."""
        try:
            events = self._parser.parse(frame, ts)
        except ParseError:
            return frame.decode("utf-8", "replace"), None  # garbage stays garbage
        for event in events:
            if isinstance(event, Trade):
                name = self.venue.venue_symbol(event.symbol)
                return self._encoder.encode_trade(attrs.evolve(event, venue=self.venue.name, venue_symbol=name)), None
            if isinstance(event, BookDelta):
                return self._book_message(event), event.symbol
            if isinstance(event, Quote) and self._encode_quote is not None:
                name = self.venue.venue_symbol(event.symbol)
                text: str = self._encode_quote(attrs.evolve(event, venue=self.venue.name, venue_symbol=name,
                                                            ts_exchange=event.ts_exchange or ts))
                return text, None
        return None, None

    def _book_message(self, event: BookDelta | BookSnapshot) -> str:
        """``event`` (already applied to the venue's true book) as the venue's book frame,
        numbered by the venue's own sequence and with its checksum of the book."""
        symbol = event.symbol
        book = self.books[symbol]
        seq = self._book_seq.get(symbol, 0)
        if isinstance(event, BookDelta):
            seq += 1
            self._book_seq[symbol] = seq
            event = attrs.evolve(event, first_update_id=seq, last_update_id=seq, prev_update_id=seq - 1)
        else:
            bids, asks = book.levels()
            event = attrs.evolve(event, bids=bids, asks=asks, last_update_id=seq)
        event = attrs.evolve(event, venue=self.venue.name, venue_symbol=self.venue.venue_symbol(symbol))
        checksum = self._checksum(book) if self._checksum is not None else None
        text: str = self._encoder.encode_book(event, checksum)
        return text

    async def _snapshot(self, client: _Client, symbol: str) -> None:
        """The venue's answer to a subscribe: the book as it is now."""
        client.snapshotted.add(symbol)
        await self._send(client, self._book_message(BookSnapshot(self.venue.name, symbol, (), (), 0, 0, 0)))

    async def _wait_for_client(self) -> None:
        while not self._clients:
            self._joined = anyio.Event()
            await self._joined.wait()

    async def _send(self, client: _Client, text: str) -> None:
        client.ws.buffer(text)
        await self._flush(client)

    async def _flush(self, client: _Client) -> None:
        """Send the client's queued frames (in order, before anything sent after them)."""
        try:
            await client.ws.flush()
        except ConnectionClosed:
            self._forget(client)

    async def _inject(self, n: int) -> None:
        kinds = [fault.kind for fault in self.faults if not n % fault.every]
        if not self._clients:
            self._connected_frames = 0
        else:
            self._connected_frames += 1
        if (self._due and self._connected_frames >= _MIN_FRAMES_BETWEEN_FAULTS
                and n - self._last_planned >= self.plan_every):
            kinds.append(self._due.pop(0))
            self._last_planned = n
            if not self._due:
                self.plan_done.set()
        for client in list(self._clients) if kinds else ():
            await self._flush(client)  # the frames before the fault arrive before it
        for kind in kinds:
            self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
            log.info("injecting %s after frame %d", kind, n)
            if kind == "garbage":
                for client in list(self._clients):
                    await self._send(client, _GARBAGE)
            elif kind == "429":
                self.rest.storm = self.storm_size
            elif kind == "gap":
                self._skip_next_trade = self._skip_next_depth = True
            elif kind == "close":
                for client in list(self._clients):
                    await self._close(client, 1011, "simulated server error")
            elif kind == "stall":
                for client in list(self._clients):
                    self._forget(client)
                    client.stream.stall()
            else:  # drop, refuse
                if kind == "refuse":
                    self._refusing = self.refuse_count
                for client in list(self._clients):
                    self._forget(client)
                    await client.stream.inner.aclose()

    async def _close(self, client: _Client, code: int, reason: str) -> None:
        await self._flush(client)
        # Forgotten once closed: its task then still reads the client's close answer.
        with anyio.move_on_after(2):
            await client.ws.aclose(code, reason)
        self._forget(client)

    def _forget(self, client: _Client) -> None:
        if client in self._clients:
            self._clients.remove(client)
        client.gone.set()

    @property
    def trade_history(self) -> list[tuple[int, str, str, int, bool]]:
        """Every trade of the timeline so far, sent or not: (id, price, qty, ms,
        buyer_is_maker). Decoded when asked for (REST backfill, tests), not per frame."""
        history = self._trade_history
        for frame in self._trade_frames:
            try:
                events = self._parser.parse(frame, 0)
            except ParseError:
                continue  # a broken frame in the data: not a trade of the venue's
            for t in events:
                if isinstance(t, Trade):  # str(Decimal) keeps the frame's text exactly
                    history.append((t.trade_id, str(t.price), str(t.size), t.ts_exchange // 1_000_000,
                                    t.side is Side.SELL))
        self._trade_frames.clear()
        return history

    def _track_book(self, frame: bytes, ts: int) -> None:
        try:
            events = self._parser.parse(frame, ts)
        except ParseError:
            return
        for event in events:
            if isinstance(event, BookSnapshot):
                # A bare REST snapshot in a capture: it belongs to the (single) book we track.
                targets = [event.symbol] if event.symbol else list(self.books)[:1]
                for symbol in targets:
                    self.books.setdefault(symbol, OrderBook()).reset(event)
            elif isinstance(event, BookDelta):
                book = self.books.setdefault(event.symbol, OrderBook())
                if event.last_update_id > book.last_update_id:
                    book.apply(event)
                    if self.book_history is not None:
                        self.book_history[(event.symbol, book.last_update_id)] = hash(book.levels())

    # -- connections --------------------------------------------------------------------

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:  # closed when its handler is done, whatever happened
            await self._handle(stream)

    async def _handle(self, stream: ByteStream) -> None:
        try:
            head = await self._read_head(stream)
        except (anyio.BrokenResourceError, anyio.EndOfStream, TimeoutError, ValueError):
            await stream.aclose()
            return
        if self._refusing > 0:
            self._refusing -= 1
            self.stats.refused += 1
            await http_answer(stream, 503, {"code": -1003, "msg": "simulated: refusing connections"})
            return
        if b"upgrade: websocket" in head.lower():
            await self._websocket(ControlledStream(stream), head)
        else:
            await self.rest.handle(stream, head)

    async def _read_head(self, stream: ByteStream) -> bytes:
        head = b""
        with anyio.fail_after(5):
            while b"\r\n\r\n" not in head:
                if len(head) > _HEAD_LIMIT:
                    raise ValueError("no HTTP request head")
                head += await stream.receive(4096)
        return head

    async def _websocket(self, stream: ControlledStream, head: bytes) -> None:
        async with anyio.create_task_group() as nursery:
            try:
                ws = await accept(stream, head)
            except (HandshakeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await anyio.aclose_forcefully(stream)
                return
            if self.trading is not None and head.split(b" ", 2)[1:2] == [b"/ws-api/v3"]:
                await self.trading.serve(ws)
                return
            client = _Client(ws, stream)
            self.stats.connections += 1
            if self.done.is_set():
                await self._close(client, 1000, _END_OF_DATA)
                return
            self._clients.append(client)
            self._joined.set()
            nursery.start_soon(self._drain_client, client)
            await client.gone.wait()
            if stream.stalled:
                with anyio.move_on_after(self.stall_timeout_s):
                    await anyio.sleep_forever()
            nursery.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            await stream.aclose()

    async def _drain_client(self, client: _Client) -> None:
        """Answer subscriptions (acks, book snapshots) and pings; notice when the client
        leaves."""
        try:
            while True:
                for raw in await client.ws.receive():
                    await self._answer(client, raw.decode("utf-8", "replace"))
        except ConnectionClosed:
            self._forget(client)

    async def _answer(self, client: _Client, message: str) -> None:
        """A venue's answers to a client message (binance frames are not answered)."""
        if not self._transcode:
            return
        try:
            answers = self._encoder.acks(message)
        except (ValueError, TypeError, KeyError, AttributeError):
            answers = []  # a real venue answers junk with an error; ours stays quiet
        if message == "ping":
            answers = ["pong"]  # OKX's text keep-alive
        for answer in answers:
            await self._send(client, answer)
        if answers and '"subscribe' in message.replace(" ", ""):
            client.subscribed = True
            client.snapshotted.clear()
            for symbol in list(self.books):
                await self._snapshot(client, symbol)
