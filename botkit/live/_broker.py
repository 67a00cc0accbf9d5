"""The live Binance spot broker: orders over the WebSocket API, the user data stream on
the same connection, and reconciliation after every (re)connect.

One connection (``ws-api/v3``) carries everything: with an Ed25519 key it logs the
session on (requests then need no signature) and subscribes to the user data stream;
with an HMAC key each request is signed and the stream is subscribed by signature.
The order state lives in :class:`~botkit.execution._tracker.OrderTracker`, which makes
lost, duplicated and reordered messages harmless; this module feeds it.

After every connect, before anything else is trusted (and before ``on_start``): the
server-time offset is measured, then open orders, the orders the bot believes open or
unknown, the fills of every order the venue executed more of than was delivered, the
fills since the last one seen, and the balances are fetched. Execution reports that
arrive meanwhile wait, so fills reach the strategy in order. Open venue orders with a
botkit client id from an earlier run are adopted; others are listed and left alone.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import anyio
import attrs
from anyio.abc import TaskStatus

from .. import _failpoints
from .._clock import Clock
from .._events import Event, Side
from .._exceptions import ConfigError, FeedError
from .._orders import Fill, Order, OrderType, OrderUpdate, TimeInForce
from .._redact import redact_url
from ..execution._instruments import Instrument, instrument_from_exchange_info
from ..execution._journaling import OrderJournal, RestoredOrder
from ..execution._market import MarketState
from ..execution._tracker import OrderTracker, VenueBalances, VenueFill, VenueOrder, VenueStatus
from ..protocol._ratelimit import OrderLimiter, RestLimiter
from ..protocol.binance._signing import signed
from ..protocol.binance._wsapi import (
    ERR_NO_SUCH_ORDER,
    ERR_TIMESTAMP,
    ERR_UNKNOWN_ORDER,
    KEY_ERRORS,
    AccountUpdate,
    ApiEvent,
    ApiResponse,
    ExecutionReport,
    decode,
    encode_request,
    order_params,
    parse_balances,
    parse_order,
    parse_trade,
)
from ..sources._wsconn import ConnectionClosed, HandshakeError, WebSocket, connect
from ._keys import Credentials

__all__ = ["BinanceBroker", "BrokerStats"]

log = logging.getLogger("botkit.live")

_MS = 1_000_000
_S = 1_000_000_000
#: Client ids botkit gives orders: "bk", a per-run token, "-", a counter.
_OURS = re.compile(r"^bk[0-9a-z]*-\d+$")
_WEIGHTS = {"order.place": 1, "order.cancel": 1, "openOrders.cancelAll": 1, "order.status": 4,
            "openOrders.status": 6, "myTrades": 20, "account.status": 20, "exchangeInfo": 20, "time": 1,
            "session.logon": 2, "userDataStream.subscribe": 2, "userDataStream.subscribe.signature": 2}


class _Disconnected(Exception):
    """The connection went away while a request waited for its answer."""


@attrs.define
class BrokerStats:
    """What the live broker did (in the run summary's ``trading.live``)."""

    connects: int = 0
    reconciliations: int = 0
    orders_sent: int = 0
    cancels_sent: int = 0
    unknown_orders: int = 0  # placements whose answer was lost (resolved by query)
    refused_locally: int = 0
    recovered_fills: int = 0  # fills that came from reconciliation, not a report
    adopted: int = 0
    foreign_orders: int = 0
    time_resyncs: int = 0
    not_cancelled: list[str] = attrs.Factory(list)


class BinanceBroker:
    """A :class:`~botkit.execution.LiveBroker` for Binance spot.

    :param credentials: the API key (see :mod:`botkit.live._keys`).
    :param url: the WebSocket API endpoint (mainnet, testnet or a simulator).
    :param symbols: the normalised symbols the run trades.
    :param clock: the engine's clock (order times).
    :param limiter: request weight, shared with the market data's REST on that host.
    """

    def __init__(self, credentials: Credentials, url: str, symbols: list[str], clock: Clock, *,
                 venue: str = "binance", venue_symbol: Callable[[str], str] = lambda s: s.replace("-", ""),
                 recv_window_ms: int = 5_000, limiter: RestLimiter | None = None,
                 connect_timeout_s: float = 10.0, request_timeout_s: float = 10.0, time_sync_s: float = 60.0,
                 ssl_context: Any = None, max_connect_attempts: int = 5,
                 cancel_timeout_s: float = 10.0,
                 on_write: Callable[[], None] | None = None) -> None:
        self.credentials = credentials
        self.url = url
        self.symbols = list(symbols)
        self.clock = clock
        self.venue = venue
        self._venue_symbol = venue_symbol
        self.recv_window_ms = recv_window_ms
        self.limiter = limiter or RestLimiter(6_000)
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s
        self.time_sync_s = time_sync_s
        self._ssl = ssl_context
        self.max_connect_attempts = max_connect_attempts
        #: Client ids of this run: unique across restarts (a random per-run token).
        self.id_prefix = f"bk{secrets.token_hex(3)}-"
        self.tracker = OrderTracker()
        self.orders = OrderLimiter()
        #: The venue's rules per symbol, loaded at the first connect (shared with the
        #: router, which rounds and checks orders with them).
        self.instruments: dict[str, Instrument] = {}
        self._rules_loaded = False
        self.cancel_timeout_s = cancel_timeout_s
        #: Called as queued requests, framed, are handed to the socket (the latency bench).
        self.on_write = on_write
        self.stats = BrokerStats()
        self.busy = True
        self.offset_ms = 0  # venue clock minus ours
        self._ws: WebSocket | None = None
        self._session = False  # logged on: requests need no signature
        self._ready = anyio.Event()
        self._news = anyio.Event()
        self._flush = anyio.Event()
        self._waiting: dict[str, tuple[anyio.Event, list[ApiResponse]]] = {}
        self._placing: dict[str, tuple[Order, bool]] = {}  # request id -> order, whether a retry
        self._cancelling: dict[str, str] = {}  # request id -> client id
        self._reconciling = False  # execution reports wait while this is set
        self._held: list[ExecutionReport] = []
        self._retry: list[Order] = []  # placements refused for their timestamp: sent again after a time sync
        self._closing: WebSocket | None = None
        self._unsent = False  # requests buffered on the connection, not yet written
        self._placements_unsent = False  # and among them an order.place (the soak's crash points)
        self._check_in_s = time_sync_s  # when _periodic looks again
        self._confirming = False  # the kill switch: query until the venue has nothing open
        self._foreign_symbols: set[str] = set()  # symbols with open orders botkit did not place
        self._resync = anyio.Event()
        self._next_request = 0
        self._wake: Callable[[], Awaitable[None]] | None = None
        #: Written before every frame (order intents are durable before they can reach the
        #: venue); told each placement's expiry and every view of an order.
        self.journal: OrderJournal | None = None
        self.tracker.observer = self._observe

    # -- the Broker protocol (strategy task, synchronous) -------------------------------

    def submit(self, order: Order, instrument: Instrument, now_ns: int) -> None:
        """Send ``order`` now (it is refused locally when a limit or the connection says so)."""
        tracker = self.tracker
        ws = self._ws
        reason = ""
        if ws is None or not self._ready.is_set():
            reason = "trading connection not ready (reconnecting): order not sent"
        else:
            mono = time.monotonic_ns()
            reason = self.orders.refuse(mono) or self._weight("order.place", mono)
        tracker.submit(order, expires_ms=self._venue_ms() + self.recv_window_ms)
        if reason:
            self.stats.refused_locally += 1
            tracker.rejected(order.client_id, reason, now_ns)
            self._news.set()
            return
        self._place(order, retried=False)
        self.stats.orders_sent += 1
        if self.journal is not None:
            self.journal.sent(order.client_id, tracker.orders[order.client_id].expires_ms)

    def _place(self, order: Order, *, retried: bool) -> None:
        request_id = f"o{order.client_id}" + ("r" if retried else "")
        self._placing[request_id] = (order, retried)
        if retried:
            expires = self.tracker.orders[order.client_id].expires_ms = self._venue_ms() + self.recv_window_ms
            if self.journal is not None:
                self.journal.sent(order.client_id, expires)
        self._send(request_id, "order.place", order_params(order, self._venue_symbol(order.symbol)))
        self._placements_unsent = True

    def cancel(self, client_id: str, now_ns: int) -> None:
        """Send a cancel by client id (finished or unknown orders: nothing is sent)."""
        tracked = self.tracker.orders.get(client_id)
        if tracked is None or not tracked.open or self._ws is None:
            return
        request_id = f"c{self._next_id()}"
        self._cancelling[request_id] = client_id
        self._send(request_id, "order.cancel", {"symbol": self._venue_symbol(tracked.order.symbol),
                                                "origClientOrderId": client_id})
        self.stats.cancels_sent += 1

    def open_orders(self) -> list[Order]:
        return self.tracker.open_orders()

    def restore(self, orders: Sequence[RestoredOrder], last_trade_ids: Mapping[str, Collection[str]],
                instrument: Callable[[str], Instrument], now_ns: int) -> None:
        """Hold a journaled run's open orders again; the reconciliation at connect asks
        the venue about each (one never answered is queried, never sent again). The
        trade ids journaled are known, so the venue's fills after them are fetched and
        none before them is delivered twice."""
        for restored in orders:
            self.tracker.restore(restored)
        for symbol, ids in last_trade_ids.items():
            self.tracker.seen(symbol, ids)

    def _observe(self, client_id: str, view: VenueOrder) -> None:
        if self.journal is not None:
            self.journal.venue_view(client_id, view.order_id, view.status.name, view.executed, view.reason)

    def _cancel_ours(self) -> None:
        """Cancel every open order of ours: ``openOrders.cancelAll`` on a symbol where
        the venue showed none but ours, else one by one (others are left alone)."""
        if self._ws is None:
            return
        mine = self.tracker.open_orders()
        for symbol in sorted({o.symbol for o in mine}):
            if symbol in self._foreign_symbols:
                for order in mine:
                    if order.symbol == symbol:
                        self.cancel(order.client_id, 0)
                continue
            request_id = f"c{self._next_id()}"
            self._cancelling[request_id] = ""
            self._send(request_id, "openOrders.cancelAll", {"symbol": self._venue_symbol(symbol)})
            self.stats.cancels_sent += 1

    def cancel_everything(self) -> None:
        """The kill switch: cancel every order of ours at the venue (orders botkit did not
        place are left alone), then confirm by query until none is open, through
        reconnects (the cancels are sent again while any is open)."""
        self._cancel_ours()
        self._confirming = True
        self._resync.set()

    def on_event(self, event: Event, market: MarketState) -> list[OrderUpdate | Fill | VenueBalances]:
        return self._take()

    def finish(self, now_ns: int, market: MarketState) -> list[OrderUpdate | Fill | VenueBalances]:
        return self._take()

    def _take(self) -> list[OrderUpdate | Fill | VenueBalances]:
        out = self.tracker.outbox
        if out:
            self.tracker.outbox = []
        return out

    # -- the LiveBroker protocol ----------------------------------------------------------

    def report(self) -> dict[str, Any]:
        return {"endpoint": redact_url(self.url), "key": self.credentials.kind, **attrs.asdict(self.stats),
                "time_offset_ms": self.offset_ms, "duplicates_ignored": self.tracker.ignored,
                "order_rate_refusals": self.orders.refused}

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self, wake: Callable[[], Awaitable[None]], *,
                  task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The trading connection: connect, reconcile, serve; again after every drop."""
        self._wake = wake
        started = False
        failures = 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._notifier)
            while True:
                try:
                    with anyio.fail_after(self.connect_timeout_s):
                        ws = await connect(self.url, self._ssl, timeout=self.connect_timeout_s, compression=False)
                except (OSError, HandshakeError, TimeoutError) as exc:
                    failures += 1
                    if not started and failures >= self.max_connect_attempts:
                        raise FeedError(f"trading connection to {redact_url(self.url)} failed {failures} times: "
                                        f"{type(exc).__name__}: {exc}") from None
                    log.warning("trading connection to %s failed: %s", redact_url(self.url), exc)
                    await anyio.sleep(min(0.2 * 2 ** min(failures, 6), 10.0))
                    continue
                failures = 0
                self.stats.connects += 1
                await self._serve(ws, task_status if not started else None)
                started = True
                await anyio.sleep(0.05)

    async def settle(self) -> list[OrderUpdate | Fill | VenueBalances]:
        """Cancel everything open at the venue, confirm by query, book the last fills
        (at most ``cancel_timeout_s``)."""
        with anyio.move_on_after(self.cancel_timeout_s):
            while self.tracker.open_orders():
                await self._ready.wait()  # through a reconnect, if one is under way
                try:
                    self._cancel_ours()
                    await self.send_now()
                    await self._reconcile()
                except _Disconnected:
                    continue
                if self.tracker.open_orders():
                    await anyio.sleep(0.05)  # an answer still travelling: ask again
        left = [o.client_id for o in self.tracker.open_orders()]
        if left:
            self.stats.not_cancelled = left
            log.error("could not confirm the cancel of %d open orders: %s", len(left), ", ".join(left))
        return self._take()

    # -- one connection ---------------------------------------------------------------------

    async def _serve(self, ws: WebSocket, task_status: TaskStatus[None] | None) -> None:
        self._ws = ws
        if self._ready.is_set():
            self._ready = anyio.Event()
        try:
            async with anyio.create_task_group() as conn:
                conn.start_soon(self._reader, ws, conn.cancel_scope)
                conn.start_soon(self._flusher, ws)
                try:
                    await self._open_session()
                    await self._reconcile(connect=True)
                except _Disconnected:
                    conn.cancel_scope.cancel()
                    return
                self._ready.set()
                if task_status is not None:
                    task_status.started()
                conn.start_soon(self._periodic)
                await anyio.sleep_forever()
        finally:
            self._ws = None
            self._session = False
            self._lost_in_flight()
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await ws.aclose()

    async def _open_session(self) -> None:
        await self._sync_time()
        creds = self.credentials
        if creds.kind == "ed25519":
            await self._call("session.logon", {}, sign=True)
            self._session = True
            await self._call("userDataStream.subscribe", None)
        else:
            await self._call("userDataStream.subscribe.signature", {}, sign=True)
        if not self._rules_loaded:
            await self._load_rules()
            self._rules_loaded = True

    async def _load_rules(self) -> None:
        names = [self._venue_symbol(s) for s in self.symbols]
        info = await self._call("exchangeInfo", {"symbols": names})
        by_name = {entry["symbol"]: entry for entry in info.get("symbols", ())}
        for symbol, name in zip(self.symbols, names, strict=True):
            if name not in by_name:
                raise ConfigError(f"{name} is not a symbol of {redact_url(self.url)} (exchangeInfo does not list it)")
            try:
                self.instruments[symbol] = instrument_from_exchange_info(by_name[name])
            except ValueError as exc:
                raise FeedError(f"exchangeInfo: {exc}") from None
        limits = [(seconds, limit) for kind, seconds, limit, _ in _rate_limits(info) if kind == "ORDERS"]
        self.orders = OrderLimiter(limits)
        log.info("symbol rules loaded for %s; order limits %s", ", ".join(names),
                 ", ".join(f"{n} per {s} s" for s, n in limits) or "none")

    async def _sync_time(self) -> None:
        before = time.time_ns()
        answer = await self._call("time", None)
        after = time.time_ns()
        local_ms = (before + after) // 2 // _MS
        self.offset_ms = int(answer["serverTime"]) - local_ms
        self.stats.time_resyncs += 1

    async def _periodic(self) -> None:
        """Time sync every ``time_sync_s`` (or when asked), placements to send again,
        unknown orders and missing fills to settle."""
        while True:
            wait = 0.2 if self._confirming else min(self.time_sync_s, self._check_in_s)
            with anyio.move_on_after(max(wait, 0.0)):
                await self._resync.wait()
            self._resync = anyio.Event()
            self._check_in_s = self.time_sync_s
            try:
                await self._sync_time()
                retry, self._retry = self._retry, []
                for order in retry:
                    self._place(order, retried=True)
                if self._confirming:
                    self._cancel_ours()  # again: a cancel may have been lost with a connection
                    await self.send_now()
                if self.tracker.unknown() or self.tracker.incomplete() or self._confirming:
                    await self._reconcile()
                if self._confirming and not self.tracker.open_orders():
                    self._confirming = False
                    log.warning("kill switch: the venue confirms no order of ours is open")
            except _Disconnected:
                return

    # -- reconciliation -----------------------------------------------------------------

    async def _reconcile(self, *, connect: bool = False) -> None:
        """Make the tracker and the portfolio the venue's (see the module docstring)."""
        tracker = self.tracker
        self._reconciling = True
        try:
            now = self.clock.now_ns()
            first = self.stats.reconciliations == 0
            open_rows = []
            for symbol in self.symbols:  # per symbol: weight 6 each, not 80 for all
                open_rows += await self._call("openOrders.status", {"symbol": self._venue_symbol(symbol)}, sign=True)
            seen_open = set()
            foreign = set()
            for row in open_rows:
                symbol, client_id, order_id, status, executed = parse_order(row)
                seen_open.add(client_id)
                view = VenueOrder(client_id, order_id, symbol, VenueStatus[status], executed)
                if client_id in tracker.orders:
                    tracker.apply(view, now)
                elif _OURS.match(client_id) and symbol in self.symbols:
                    tracker.adopt(_order_from(row, symbol, self.venue), view)
                    self.stats.adopted += 1
                    log.warning("adopted open order %s (%s) from an earlier run", client_id, symbol)
                else:
                    foreign.add(symbol)
                    if first:
                        self.stats.foreign_orders += 1
                        log.warning("open order %s on %s is not botkit's: left alone", client_id, symbol)
            self._foreign_symbols = foreign
            for order in tracker.open_orders():
                if order.client_id in seen_open:
                    continue
                try:
                    row = await self._call("order.status", {"symbol": self._venue_symbol(order.symbol),
                                                            "origClientOrderId": order.client_id}, sign=True)
                except _VenueError as exc:
                    if exc.code == ERR_NO_SUCH_ORDER:
                        if not tracker.not_found(order.client_id, self._venue_ms(), now):
                            # Still in flight, maybe: ask again once its recvWindow is over.
                            expires = tracker.orders[order.client_id].expires_ms
                            self._check_in_s = min(self._check_in_s, (expires - self._venue_ms()) / 1000 + 0.01)
                        continue
                    raise
                symbol, client_id, order_id, status, executed = parse_order(row)
                tracker.apply(VenueOrder(order.client_id, order_id, symbol, VenueStatus[status], executed), now)
            before = tracker.fills_delivered
            for tracked in tracker.incomplete():
                rows = await self._call("myTrades", {"symbol": self._venue_symbol(tracked.order.symbol),
                                                     "orderId": tracked.order_id}, sign=True)
                tracker.fills((self._fill(r) for r in rows), now)
            if connect:  # and, as a net, every fill since the last one seen
                for symbol in self.symbols:
                    last = tracker.last_trade_id.get(symbol)
                    if last is not None:
                        rows = await self._call("myTrades", {"symbol": self._venue_symbol(symbol),
                                                             "fromId": last + 1, "limit": 1000}, sign=True)
                        tracker.fills((self._fill(r) for r in rows), now)
            self.stats.recovered_fills += tracker.fills_delivered - before
            self._release_held()
            # Compared only when nothing is open or in flight (so no fill can be missing
            # from either side), and at the start; after the updates known now.
            if first or not tracker.open_orders():
                account = await self._call("account.status", {}, sign=True)
                tracker.outbox.append(VenueBalances(parse_balances(account.get("balances", ())), first))
            self.stats.reconciliations += 1
            tracker.forget_finished()
            self._news.set()
        finally:
            self._reconciling = False
            self._release_held()  # what came in during the last request

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for report in held:
            self._report(report)

    def _fill(self, row: Any) -> VenueFill:
        symbol, trade_id, order_id, side, price, size, fee, fee_asset, maker, ms = parse_trade(row)
        return VenueFill(symbol, trade_id, order_id, None, side, price, size, fee, fee_asset, maker, ms)

    # -- messages ------------------------------------------------------------------------

    async def _reader(self, ws: WebSocket, scope: anyio.CancelScope) -> None:
        try:
            while True:
                for frame in await ws.receive():
                    self._message(frame)
        except ConnectionClosed as exc:
            log.warning("trading connection closed: %s", exc)
        scope.cancel()

    def _message(self, frame: bytes) -> None:
        try:
            message = decode(frame)
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.warning("trading connection: unreadable message skipped (%s)", exc)
            return
        if isinstance(message, ApiResponse):
            self._response(message)
        elif isinstance(message, ExecutionReport):
            if self._reconciling:
                self._held.append(message)
            else:
                self._report(message)
        elif isinstance(message, AccountUpdate):
            return  # balances are taken from account.status at each reconciliation
        elif isinstance(message, ApiEvent) and message.kind in ("eventStreamTerminated", "serverShutdown"):
            log.warning("user data stream: %s; reconnecting and reconciling", message.kind)
            if self._ws is not None:
                self._closing = self._ws  # the flusher closes it; run() connects again
                self._ws = None
                self._flush.set()

    def _report(self, report: ExecutionReport) -> None:
        view = VenueOrder(report.client_id, report.order_id, report.symbol, VenueStatus[report.status],
                          report.executed, report.reason)
        fill = None
        if report.trade_id >= 0 and report.last_size > 0:
            fill = VenueFill(report.symbol, report.trade_id, report.order_id, report.client_id, report.side,
                             report.last_price, report.last_size, report.fee, report.fee_asset, report.maker,
                             report.ts_ms)
        self.tracker.apply(view, self.clock.now_ns(), fill)
        self._news.set()

    def _response(self, answer: ApiResponse) -> None:
        now = self.clock.now_ns()
        mono = time.monotonic_ns()
        self.orders.on_counts([(s, c) for kind, s, _, c in answer.rate_limits if kind == "ORDERS"], mono)
        if answer.status in (418, 429):
            # retryAfter is the venue's time (ms) when requests are welcome again.
            wait_s = (answer.retry_after_ms - self._venue_ms()) / 1000 if answer.retry_after_ms else 10.0
            self.orders.block(mono, max(wait_s, 1.0))
            self.limiter.on_response(answer.status, {"retry-after": f"{max(wait_s, 1.0):.3f}"}, mono)
        placing = self._placing.pop(answer.id, None)
        if placing is not None:
            self._placed(answer, *placing)
            self._news.set()
            return
        cancelling = self._cancelling.pop(answer.id, None)
        if cancelling is not None:
            if answer.ok:
                # One order object (order.cancel) or a list of them (openOrders.cancelAll).
                for row in answer.result if isinstance(answer.result, list) else [answer.result]:
                    if "orderId" in row:
                        self._order_view(row, now)
            elif answer.code == ERR_UNKNOWN_ORDER:
                if cancelling:
                    self._resync.set()  # finished already, or not there yet: the query will say
            else:
                log.warning("cancel of %s refused: %s %s", cancelling, answer.code, answer.msg)
            self._news.set()
            return
        waiting = self._waiting.pop(answer.id, None)
        if waiting is not None:
            waiting[1].append(answer)
            waiting[0].set()

    def _placed(self, answer: ApiResponse, order: Order, retried: bool) -> None:
        tracker, now, cid = self.tracker, self.clock.now_ns(), order.client_id
        if answer.ok:
            result = answer.result
            symbol, _, order_id, status, executed = parse_order(result)
            fills = [VenueFill(symbol, int(f["tradeId"]), order_id, cid, order.side, Decimal(f["price"]),
                               Decimal(f["qty"]), Decimal(f["commission"]), str(f["commissionAsset"]),
                               False, 0) for f in result.get("fills", ())]
            view = VenueOrder(cid, order_id, symbol, VenueStatus[status], executed)
            tracker.apply(view, now)
            tracker.fills(fills, now)
            return
        if answer.code == ERR_TIMESTAMP and not retried:
            # The clocks drifted: re-measure, then send the same order (same client id) once more.
            self._retry.append(order)
            self._resync.set()
            return
        if answer.status >= 500 or answer.code == -1007:
            self.stats.unknown_orders += 1
            tracker.lost(cid, now)
            self._resync.set()
            return
        reason = f"venue refused: {answer.code} {answer.msg}"
        tracker.rejected(cid, reason, now)
        log.info("order %s %s", cid, reason)

    def _order_view(self, row: Any, now: int) -> None:
        symbol, client_id, order_id, status, executed = parse_order(row)
        self.tracker.apply(VenueOrder(client_id, order_id, symbol, VenueStatus[status], executed), now)

    def _lost_in_flight(self) -> None:
        """The connection is gone: every unanswered placement is unknown, waiters fail."""
        now = self.clock.now_ns()
        for order, _ in self._placing.values():
            self.stats.unknown_orders += 1
            self.tracker.lost(order.client_id, now)
        self._placing.clear()
        self._cancelling.clear()
        for event, _ in self._waiting.values():
            event.set()
        self._news.set()

    # -- sending -------------------------------------------------------------------------

    def _send(self, request_id: str, method: str, params: dict[str, object] | None, *, sign: bool = True) -> None:
        ws = self._ws
        if ws is None:
            raise _Disconnected
        if params is not None and sign:
            params = self._sign(params)
        ws.buffer(encode_request(request_id, method, params))
        self._unsent = True
        self._flush.set()

    def _sign(self, params: dict[str, object]) -> dict[str, object]:
        ts = self._venue_ms()
        if self._session:
            return {**params, "timestamp": ts, "recvWindow": self.recv_window_ms}
        creds = self.credentials
        return signed(params, creds.api_key, creds.signer, ts, self.recv_window_ms)

    async def _call(self, method: str, params: dict[str, object] | None, *, sign: bool = False) -> Any:
        """Send a request and wait for its answer (request weight reserved first)."""
        while (delay := self.limiter.reserve(_WEIGHTS.get(method, 1), time.monotonic_ns())) > 0:
            await anyio.sleep(delay)
        request_id = f"q{self._next_id()}"
        done = anyio.Event()
        slot: list[ApiResponse] = []
        self._waiting[request_id] = (done, slot)
        self._send(request_id, method, params, sign=sign)
        with anyio.move_on_after(self.request_timeout_s):
            await done.wait()
        self._waiting.pop(request_id, None)
        if not slot:
            raise _Disconnected
        answer = slot[0]
        if answer.ok:
            return answer.result
        if answer.code in KEY_ERRORS:
            raise ConfigError(f"the venue refused the API key ({self.credentials.source}): {answer.code} "
                              f"{answer.msg}; no order was sent")
        if answer.code == ERR_TIMESTAMP:
            await self._sync_time()
            return await self._call(method, params, sign=sign)
        raise _VenueError(method, answer.code, answer.msg)

    async def send_now(self) -> None:
        ws = self._ws
        if ws is None or not self._unsent:
            return
        self._unsent = False
        placing, self._placements_unsent = self._placements_unsent, False
        if self.journal is not None and placing:
            self.journal.flush_intents()  # the orders are durable before they can reach the venue
        if _failpoints.ARMED and placing:
            _failpoints.hit("before-write")
        if self.on_write is not None:
            self.on_write()
        try:
            await ws.flush()
        except ConnectionClosed:
            return  # the reader notices and run() reconnects
        if _failpoints.ARMED and placing:
            _failpoints.hit("after-write")

    async def _flusher(self, ws: WebSocket) -> None:
        """Writes what other tasks queued (reconciliation, the notifier's cancels)."""
        while True:
            await self._flush.wait()
            self._flush = anyio.Event()
            if self._closing is ws:
                self._closing = None
                await ws.aclose(1000, "resubscribing")
                return
            if self._ws is ws and self._unsent:
                await self.send_now()

    async def _notifier(self) -> None:
        while True:
            await self._news.wait()
            self._news = anyio.Event()
            if self.tracker.outbox and self._wake is not None:
                await self._wake()

    def _weight(self, method: str, now_ns: int) -> str:
        delay = self.limiter.reserve(_WEIGHTS[method], now_ns)
        return f"request weight budget used up: retry in {delay:.1f} s" if delay else ""

    def _venue_ms(self) -> int:
        return time.time_ns() // _MS + self.offset_ms

    def _next_id(self) -> int:
        self._next_request += 1
        return self._next_request


class _VenueError(Exception):
    def __init__(self, method: str, code: int, msg: str) -> None:
        super().__init__(method, code, msg)
        self.code = code

    def __str__(self) -> str:
        return f"{self.args[0]}: {self.args[1]} {self.args[2]}"


def _rate_limits(info: Any) -> list[tuple[str, int, int, int]]:
    seconds = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86_400}
    return [(str(r["rateLimitType"]), seconds.get(r["interval"], 0) * int(r.get("intervalNum", 1)), int(r["limit"]),
             0) for r in info.get("rateLimits", ())]


def _order_from(row: Any, symbol: str, venue: str) -> Order:
    kind = row.get("type", "LIMIT")
    price = Decimal(row["price"]) if kind != "MARKET" else None
    return Order(row["clientOrderId"], venue, symbol, Side.BUY if row["side"] == "BUY" else Side.SELL,
                 OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT, Decimal(row["origQty"]), price,
                 TimeInForce.IOC if row.get("timeInForce") == "IOC" else TimeInForce.GTC, kind == "LIMIT_MAKER",
                 int(row.get("time", 0)) * _MS)
