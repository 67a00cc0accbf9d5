"""The simulator's trading side: Binance's spot WebSocket API (``/ws-api/v3``) with the
user data stream, a matching engine over the replayed market, balances, the symbol
filters, signature and timestamp checks, order-rate limits and execution faults.

The matching engine is the paper broker's fill model (:mod:`botkit.execution._paper`),
run per account on the market the simulator broadcasts. Commission is taken as Binance
takes it without BNB: a buy pays in the base asset it receives, a sell in the quote.

Execution faults (``fault(kind)``, or one every ``fault_every`` placements from a plan):

* ``lost_response``: the order is accepted, its answer is never sent;
* ``stream_drop``: the user data stream ends (``eventStreamTerminated``), and the events
  until the client subscribes again are lost;
* ``close``: the trading connection is closed (1011);
* ``duplicate_report``: the next execution report is sent twice;
* ``partial``: the next fill is split in two reports;
* ``reject``: the next order is refused (-2010, as for an insufficient balance).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import anyio
import attrs
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .._events import Event, Quote, Side, Timer, Trade
from .._orders import Fill, Order, OrderStatus, OrderType, OrderUpdate, TimeInForce
from .._symbols import normalise_symbol
from ..execution._instruments import Instrument, exchange_info_entry, instrument_for
from ..execution._market import MarketState
from ..execution._paper import PaperBroker, PaperConfig
from ..live._keys import Credentials
from ..protocol.binance._signing import HmacSigner, Signer, ed25519_verify, signature_payload
from ..sources._wsconn import ConnectionClosed, WebSocket

__all__ = ["EXECUTION_FAULTS", "SimAccount", "TradingVenue"]

log = logging.getLogger("botkit.sim.trading")

EXECUTION_FAULTS = ("lost_response", "stream_drop", "close", "duplicate_report", "partial", "reject")
_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_STATUS = {OrderStatus.CANCELLED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED", OrderStatus.FILLED: "FILLED",
           OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED", OrderStatus.ACCEPTED: "NEW"}


@attrs.define(repr=False)
class SimAccount:
    """One API key's account: how it verifies signatures, and its balances (total).

    Give ``hmac_secret`` (an HMAC key) or ``public_key`` (an Ed25519 key), or build it
    from the bot's own credentials with :meth:`from_credentials`.
    """

    api_key: str
    hmac_secret: bytes | None = None
    public_key: Ed25519PublicKey | None = None
    balances: dict[str, Decimal] = attrs.Factory(dict)
    locked: dict[str, Decimal] = attrs.Factory(dict)
    verifier: Signer | None = None

    @classmethod
    def from_credentials(cls, credentials: Credentials, balances: dict[str, Decimal]) -> SimAccount:
        """The account that accepts ``credentials`` (``exchange-sim --trading``)."""
        return cls(credentials.api_key, balances=dict(balances), verifier=credentials.signer)

    @property
    def ed25519(self) -> bool:
        return self.public_key is not None or (self.verifier is not None and self.verifier.kind == "ed25519")

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, _ZERO) - self.locked.get(asset, _ZERO)

    def verify(self, payload: str, signature: str) -> bool:
        if self.verifier is not None:
            return self.verifier.verify(payload, signature)
        if self.hmac_secret is not None:
            return HmacSigner(self.hmac_secret).verify(payload, signature)
        return self.public_key is not None and ed25519_verify(self.public_key, payload, signature)

    def __repr__(self) -> str:
        return f"SimAccount({'ed25519' if self.ed25519 else 'hmac'}, balances={self.balances})"


@attrs.define
class _SimOrder:
    order: Order
    order_id: int
    venue_symbol: str
    account: SimAccount
    status: str = "NEW"
    executed: Decimal = _ZERO
    quote_executed: Decimal = _ZERO
    lock_asset: str = ""
    lock_left: Decimal = _ZERO
    created_ms: int = 0


@attrs.define(eq=False)
class _Session:
    ws: WebSocket
    account: SimAccount | None = None  # after session.logon
    subscriptions: dict[int, SimAccount] = attrs.Factory(dict)
    next_subscription: int = 0


class _Error(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(status, code, msg)
        self.status, self.code, self.msg = status, code, msg


@attrs.define
class TradingStats:
    """What the trading side did (the soak reads these)."""

    orders_placed: int = 0
    duplicate_placements: int = 0  # a client id sent again while the first is known
    fills: int = 0
    reports_sent: int = 0
    reports_lost: int = 0
    faults: dict[str, int] = attrs.Factory(dict)
    rejected_signatures: int = 0
    rejected_timestamps: int = 0
    rate_limited: int = 0


class TradingVenue:
    """Serves ``/ws-api/v3`` sessions against the simulator's market.

    :param accounts: the API keys it knows and their accounts.
    :param instruments: per normalised symbol; default :func:`instrument_for`.
    :param orders_per_10s: the ORDERS / 10 SECOND limit (429, -1015 above it).
    :param orders_per_day: the ORDERS / 1 DAY limit.
    :param clock_offset_ms: the venue's clock minus this machine's (a skewed venue).
    :param plan: execution faults to inject, one every ``fault_every`` placements.
    :param recurring: ``(kind, N)``: inject ``kind`` at every Nth placement.
    """

    def __init__(self, accounts: list[SimAccount], *, instruments: Mapping[str, Instrument] | None = None,
                 orders_per_10s: int = 100, orders_per_day: int = 200_000, clock_offset_ms: int = 0,
                 maker_fee_bps: Decimal = Decimal(10), taker_fee_bps: Decimal = Decimal(10),
                 plan: list[str] | None = None, fault_every: int = 5,
                 recurring: list[tuple[str, int]] | None = None,
                 venue_symbol: Callable[[str], str] = lambda s: s.replace("-", "")) -> None:
        self.accounts = {a.api_key: a for a in accounts}
        self.instruments = dict(instruments or {})
        self.orders_per_10s = orders_per_10s
        self.orders_per_day = orders_per_day
        self.clock_offset_ms = clock_offset_ms
        self.maker_fee_bps, self.taker_fee_bps = Decimal(maker_fee_bps), Decimal(taker_fee_bps)
        self.plan = deque(plan or ())
        self.fault_every = fault_every
        self.recurring = list(recurring or [])
        for kind, every in self.recurring:
            if kind not in EXECUTION_FAULTS or every < 1:
                raise ValueError(f"execution fault {kind}@{every}: use one of {', '.join(EXECUTION_FAULTS)}, "
                                 "every N >= 1 orders")
        self._venue_symbol = venue_symbol
        self.market = MarketState()
        self._matchers: dict[str, PaperBroker] = {}
        self.orders: dict[tuple[str, str], _SimOrder] = {}  # (api key, client id) -> order
        self._by_id: dict[int, _SimOrder] = {}
        self.trades: list[dict[str, Any]] = []  # myTrades rows, all accounts (with "apiKey")
        self._next_order_id = 1_000
        self._next_trade_id: dict[str, int] = {}
        self._recent: deque[int] = deque()  # placement times (ms), the 10 s window
        self._today = (0, 0)  # (day, count)
        self._sessions: list[_Session] = []
        self._armed: set[str] = set()  # faults waiting for their moment
        self._dropped_streams: set[str] = set()  # accounts whose stream is down until resubscribed
        self._placements = 0
        self._last_ts = 0
        self._pending_reports: list[tuple[SimAccount, dict[str, Any]]] = []  # sent at the next flush
        self.stats = TradingStats()

    # -- time and market ------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = instrument_for(symbol)
        return inst

    async def on_market(self, events: list[Event]) -> None:
        """The simulator broadcast these market events: match resting orders against them."""
        for event in events:
            self._last_ts = max(self._last_ts, event.ts_recv)
            if isinstance(event, Trade):
                self.market.last_prices[event.symbol] = event.price
            elif isinstance(event, Quote):
                self.market.last_quotes[event.symbol] = event
            for key, matcher in self._matchers.items():
                if matcher.busy:
                    await self._results(self.accounts[key], matcher.on_event(event, self.market))

    def place(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        """Place an order as ``order.place`` would, outside any session (one left open
        by "an earlier run", in a test); returns the order as the venue answers it."""
        return self._place(account, params)

    def client_id_of(self, order_id: int) -> str:
        """The client id of the venue's order ``order_id`` (``myTrades`` rows name only this)."""
        return self._by_id[order_id].order.client_id

    def fault(self, kind: str) -> None:
        """Inject ``kind`` now (or at the next order, report or fill it applies to)."""
        if kind not in EXECUTION_FAULTS:
            raise ValueError(f"unknown execution fault {kind!r}; use one of {', '.join(EXECUTION_FAULTS)}")
        self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
        log.info("execution fault: %s", kind)
        if kind == "stream_drop":
            for session in self._sessions:
                for sub_id, account in list(session.subscriptions.items()):
                    self._dropped_streams.add(account.api_key)
                    del session.subscriptions[sub_id]
                    session.ws.buffer(_encoder.encode({"subscriptionId": sub_id, "event": {
                        "e": "eventStreamTerminated", "E": self.now_ms()}}))
        elif kind == "close":
            self._armed.add("close")
        else:
            self._armed.add(kind)

    # -- sessions -----------------------------------------------------------------------

    async def serve(self, ws: WebSocket) -> None:
        """One WebSocket API connection, until it closes."""
        session = _Session(ws)
        self._sessions.append(session)
        try:
            while True:
                for raw in await ws.receive():
                    await self._request(session, raw)
                    if "close" in self._armed:
                        self._armed.discard("close")
                        with anyio.move_on_after(2):
                            await ws.aclose(1011, "simulated trading connection failure")
                        return
        except ConnectionClosed:
            pass
        finally:
            if session in self._sessions:  # a failed flush may have dropped it already
                self._sessions.remove(session)

    async def _request(self, session: _Session, raw: bytes) -> None:
        try:
            message = _decoder.decode(raw)
            request_id = message.get("id")
            method = str(message["method"])
            params = dict(message.get("params") or {})
        except (msgspec.DecodeError, KeyError, AttributeError, TypeError):
            await self._send(session, {"id": None, "status": 400, "error": {"code": -1102,
                                                                           "msg": "Malformed request."}})
            return
        lose = False
        try:
            result = self._dispatch(session, method, params)
            if method == "order.place" and "lost_response" in self._armed:
                self._armed.discard("lost_response")
                lose = True
            answer: dict[str, Any] = {"id": request_id, "status": 200, "result": result}
        except _Error as exc:
            answer = {"id": request_id, "status": exc.status, "error": {"code": exc.code, "msg": exc.msg}}
        answer["rateLimits"] = self._rate_limits()
        if not lose:
            await self._send(session, answer)
        await self._flush_reports()

    def _dispatch(self, session: _Session, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.now_ms()}
        if method == "exchangeInfo":
            names = params.get("symbols") or ([params["symbol"]] if "symbol" in params else [])
            return {"timezone": "UTC", "serverTime": self.now_ms(), "rateLimits": [
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.orders_per_10s},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": self.orders_per_day}],
                "symbols": [exchange_info_entry(self.instrument(normalise_symbol(n)), n) for n in names]}
        if method == "session.logon":
            account = self._authenticate(session, params, logon=True)
            session.account = account
            return {"apiKey": account.api_key, "authorizedSince": self.now_ms(), "serverTime": self.now_ms(),
                    "userDataStream": bool(session.subscriptions)}
        if method in ("userDataStream.subscribe", "userDataStream.subscribe.signature"):
            account = (self._authenticate(session, params) if method.endswith(".signature")
                       else self._session_account(session))
            sub_id = session.next_subscription
            session.next_subscription += 1
            session.subscriptions[sub_id] = account
            self._dropped_streams.discard(account.api_key)
            return {"subscriptionId": sub_id}
        account = self._authenticate(session, params)
        if method == "order.place":
            return self._place(account, params)
        if method == "order.cancel":
            return self._cancel(account, params)
        if method == "openOrders.cancelAll":
            return [self._cancel(account, {"symbol": params.get("symbol"), "orderId": o.order_id})
                    for o in self._open(account, params.get("symbol"))]
        if method == "order.status":
            return self._order_json(self._find(account, params))
        if method == "openOrders.status":
            return [self._order_json(o) for o in self._open(account, params.get("symbol"))]
        if method == "myTrades":
            return self._my_trades(account, params)
        if method == "account.status":
            return {"canTrade": True, "accountType": "SPOT", "updateTime": self.now_ms(), "balances": [
                {"asset": a, "free": f"{account.free(a):f}", "locked": f"{account.locked.get(a, _ZERO):f}"}
                for a in sorted(account.balances)]}
        raise _Error(400, -1020, f"Unsupported operation: {method}")

    def _session_account(self, session: _Session) -> SimAccount:
        if session.account is None:
            raise _Error(401, -1002, "You are not authorized to execute this request.")
        return session.account

    def _authenticate(self, session: _Session, params: dict[str, Any], *, logon: bool = False) -> SimAccount:
        if "signature" not in params and not logon:
            account = self._session_account(session)
        else:
            known = self.accounts.get(str(params.get("apiKey", "")))
            if known is None:
                raise _Error(401, -2015, "Invalid API-key, IP, or permissions for action.")
            account = known
            if logon and not account.ed25519:
                raise _Error(400, -4056, "HMAC_SHA256 API key is not supported.")
            if not account.verify(signature_payload(params), str(params.get("signature", ""))):
                self.stats.rejected_signatures += 1
                raise _Error(400, -1022, "Signature for this request is not valid.")
        if "timestamp" in params:
            now, ts = self.now_ms(), int(params["timestamp"])
            window = float(params.get("recvWindow", 5000))
            if not (ts < now + 1000 and now - ts <= window):
                self.stats.rejected_timestamps += 1
                raise _Error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        elif not logon and "signature" in params:
            raise _Error(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        return account

    # -- orders -------------------------------------------------------------------------

    def _rate_limits(self) -> list[dict[str, Any]]:
        return [{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.orders_per_10s,
                 "count": len(self._recent)},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": self.orders_per_day,
                 "count": self._today[1]}]

    def _count_order(self) -> None:
        now = self.now_ms()
        while self._recent and self._recent[0] <= now - 10_000:
            self._recent.popleft()
        day = now // 86_400_000
        if self._today[0] != day:
            self._today = (day, 0)
        if len(self._recent) >= self.orders_per_10s:
            self.stats.rate_limited += 1
            raise _Error(429, -1015, f"Too many new orders; current limit is {self.orders_per_10s} orders per "
                                     "10 SECOND.")
        if self._today[1] >= self.orders_per_day:
            self.stats.rate_limited += 1
            raise _Error(429, -1015, f"Too many new orders; current limit is {self.orders_per_day} orders per DAY.")
        self._recent.append(now)
        self._today = (day, self._today[1] + 1)

    def _place(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        try:
            venue_symbol = str(params["symbol"])
            side = Side.BUY if params["side"] == "BUY" else Side.SELL
            kind = str(params["type"])
            size = Decimal(str(params["quantity"]))
            price = Decimal(str(params["price"])) if "price" in params else None
        except (KeyError, ArithmeticError):
            raise _Error(400, -1102, "Mandatory parameter was not sent, was empty/null, or malformed.") from None
        client_id = str(params.get("newClientOrderId") or f"sim-{self._next_order_id}")
        self._count_order()
        if (account.api_key, client_id) in self.orders:
            self.stats.duplicate_placements += 1
            raise _Error(400, -2010, "Duplicate order sent.")
        self._placements += 1
        if self.plan and self._placements % self.fault_every == 0:
            self.fault(self.plan.popleft())
        for kind, every in self.recurring:
            if self._placements % every == 0:
                self.fault(kind)
        if "reject" in self._armed:
            self._armed.discard("reject")
            raise _Error(400, -2010, "Account has insufficient balance for requested action.")
        symbol = normalise_symbol(venue_symbol)
        inst = self.instrument(symbol)
        market = kind == "MARKET"
        if market != (price is None):
            raise _Error(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        order = Order(client_id, "binance", symbol, side, OrderType.MARKET if market else OrderType.LIMIT, size, price,
                      TimeInForce.IOC if params.get("timeInForce") == "IOC" else TimeInForce.GTC,
                      kind == "LIMIT_MAKER", self._last_ts)
        reason = inst.check(order, self.market.last_prices.get(symbol), len(self._open(account, venue_symbol)))
        if reason:
            raise _Error(400, -1013, f"Filter failure: {reason.split(':', 1)[0]}")
        if kind == "LIMIT_MAKER" and self._would_cross(order):
            raise _Error(400, -2010, "Order would immediately match and take.")
        self._next_order_id += 1
        sim_order = _SimOrder(order, self._next_order_id, venue_symbol, account, created_ms=self.now_ms())
        sim_order.lock_asset, sim_order.lock_left = self._lock(account, order, inst)
        self.orders[(account.api_key, client_id)] = self._by_id[sim_order.order_id] = sim_order
        self.stats.orders_placed += 1
        matcher = self._matchers.setdefault(account.api_key, PaperBroker(PaperConfig(latency_ms=0), "binance"))
        matcher.submit(order, inst, self._last_ts)
        fills_before = len(self.trades)
        self._results_now(account, matcher.on_event(Timer("sim", self._last_ts), self.market))
        json = self._order_json(sim_order)
        json["fills"] = [{"price": t["price"], "qty": t["qty"], "commission": t["commission"],
                          "commissionAsset": t["commissionAsset"], "tradeId": t["id"]}
                         for t in self.trades[fills_before:] if t["orderId"] == sim_order.order_id]
        return json

    def _would_cross(self, order: Order) -> bool:
        quote = self.market.last_quotes.get(order.symbol)
        if quote is None or order.price is None:
            return False
        return quote.ask_price <= order.price if order.side is Side.BUY else quote.bid_price >= order.price

    def _lock(self, account: SimAccount, order: Order, inst: Instrument) -> tuple[str, Decimal]:
        """Check and reserve what the order could spend (-2010 when it is not there)."""
        if order.side is Side.SELL:
            asset, amount = inst.base, order.size
        else:
            price = order.price
            if price is None:
                quote = self.market.last_quotes.get(order.symbol)
                price = quote.ask_price if quote is not None else self.market.last_prices.get(order.symbol, _ZERO)
            asset, amount = inst.quote, price * order.size
        if account.free(asset) < amount:
            raise _Error(400, -2010, "Account has insufficient balance for requested action.")
        if order.type is OrderType.MARKET:
            return asset, _ZERO  # fills at once or not at all: nothing stays reserved
        account.locked[asset] = account.locked.get(asset, _ZERO) + amount
        return asset, amount

    def _find(self, account: SimAccount, params: dict[str, Any]) -> _SimOrder:
        found = None
        if "origClientOrderId" in params:
            found = self.orders.get((account.api_key, str(params["origClientOrderId"])))
        elif "orderId" in params:
            candidate = self._by_id.get(int(params["orderId"]))
            found = candidate if candidate is not None and candidate.account is account else None
        if found is None:
            raise _Error(400, -2013, "Order does not exist.")
        return found

    def _open(self, account: SimAccount, venue_symbol: str | None) -> list[_SimOrder]:
        return [o for o in self.orders.values() if o.account is account and o.status in ("NEW", "PARTIALLY_FILLED")
                and (venue_symbol is None or o.venue_symbol == venue_symbol)]

    def _cancel(self, account: SimAccount, params: dict[str, Any]) -> dict[str, Any]:
        try:
            order = self._find(account, params)
        except _Error:
            raise _Error(400, -2011, "Unknown order sent.") from None
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise _Error(400, -2011, "Unknown order sent.")
        matcher = self._matchers[account.api_key]
        matcher.cancel(order.order.client_id, self._last_ts)
        self._results_now(account, matcher.on_event(Timer("sim", self._last_ts), self.market))
        json = self._order_json(order)
        json["origClientOrderId"] = order.order.client_id
        return json

    def _my_trades(self, account: SimAccount, params: dict[str, Any]) -> list[dict[str, Any]]:
        symbol = str(params.get("symbol", ""))
        rows = [t for t in self.trades if t["apiKey"] == account.api_key and t["symbol"] == symbol]
        if "orderId" in params:
            rows = [t for t in rows if t["orderId"] == int(params["orderId"])]
        if "fromId" in params:
            rows = [t for t in rows if t["id"] >= int(params["fromId"])]
        limit = min(int(params.get("limit", 500)), 1000)
        return [{k: v for k, v in t.items() if k != "apiKey"} for t in rows[:limit]]

    def _order_json(self, order: _SimOrder) -> dict[str, Any]:
        o = order.order
        return {"symbol": order.venue_symbol, "orderId": order.order_id, "orderListId": -1,
                "clientOrderId": o.client_id, "price": f"{o.price or _ZERO:f}", "origQty": f"{o.size:f}",
                "executedQty": f"{order.executed:f}", "cummulativeQuoteQty": f"{order.quote_executed:f}",
                "status": order.status, "timeInForce": o.time_in_force.name,
                "type": "MARKET" if o.type is OrderType.MARKET else ("LIMIT_MAKER" if o.post_only else "LIMIT"),
                "side": o.side.name, "time": order.created_ms, "updateTime": self.now_ms(), "isWorking": True,
                "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE"}

    # -- what the matcher did -> balances, trades, execution reports --------------------

    def _results_now(self, account: SimAccount, results: list[OrderUpdate | Fill]) -> None:
        for item in results:
            self._result(account, item)

    async def _results(self, account: SimAccount, results: list[OrderUpdate | Fill]) -> None:
        self._results_now(account, results)
        await self._flush_reports()

    def _result(self, account: SimAccount, item: OrderUpdate | Fill) -> None:
        order = self.orders.get((account.api_key, item.client_id))
        if order is None:
            return
        if isinstance(item, Fill):
            lot = self.instrument(order.order.symbol).lot_size
            if "partial" in self._armed and item.size >= 2 * lot:
                self._armed.discard("partial")
                half = (item.size / 2 / lot).to_integral_value() * lot
                self._fill(account, order, attrs.evolve(item, size=half))
                self._fill(account, order, attrs.evolve(item, size=item.size - half))
            else:
                self._fill(account, order, item)
            return
        status = _STATUS.get(item.status)
        if status is None or status in ("FILLED", "PARTIALLY_FILLED"):
            return  # fills report themselves
        if item.status is OrderStatus.CANCELLED and order.order.time_in_force is TimeInForce.IOC:
            status = "EXPIRED"
        if status in ("CANCELED", "EXPIRED"):
            self._release(order)
        order.status = status
        self._report(order, "CANCELED" if status == "CANCELED" else ("EXPIRED" if status == "EXPIRED" else "NEW"))

    def _fill(self, account: SimAccount, order: _SimOrder, fill: Fill) -> None:
        o = order.order
        inst = self.instrument(o.symbol)
        bps = self.maker_fee_bps if fill.liquidity == "maker" else self.taker_fee_bps
        notional = fill.price * fill.size
        if o.side is Side.BUY:
            fee, fee_asset = fill.size * bps / _BPS, inst.base
            self._add(account, inst.quote, -notional)
            self._add(account, inst.base, fill.size - fee)
            spent = (o.price or fill.price) * fill.size
        else:
            fee, fee_asset = notional * bps / _BPS, inst.quote
            self._add(account, inst.base, -fill.size)
            self._add(account, inst.quote, notional - fee)
            spent = fill.size
        if order.lock_left:
            used = min(order.lock_left, spent)
            order.lock_left -= used
            account.locked[order.lock_asset] -= used
        order.executed += fill.size
        order.quote_executed += notional
        order.status = "FILLED" if order.executed >= o.size else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._release(order)
        trade_id = self._next_trade_id.get(o.symbol, 0) + 1
        self._next_trade_id[o.symbol] = trade_id
        self.stats.fills += 1
        self.trades.append({"symbol": order.venue_symbol, "id": trade_id, "orderId": order.order_id,
                            "orderListId": -1, "price": f"{fill.price:f}", "qty": f"{fill.size:f}",
                            "quoteQty": f"{notional:f}", "commission": f"{fee:f}", "commissionAsset": fee_asset,
                            "time": self.now_ms(), "isBuyer": o.side is Side.BUY,
                            "isMaker": fill.liquidity == "maker", "isBestMatch": True, "apiKey": account.api_key})
        self._report(order, "TRADE", fill=self.trades[-1])

    def _release(self, order: _SimOrder) -> None:
        if order.lock_left:
            order.account.locked[order.lock_asset] -= order.lock_left
            order.lock_left = _ZERO

    @staticmethod
    def _add(account: SimAccount, asset: str, amount: Decimal) -> None:
        account.balances[asset] = account.balances.get(asset, _ZERO) + amount

    def _report(self, order: _SimOrder, execution: str, fill: dict[str, Any] | None = None) -> None:
        o = order.order
        event = {
            "e": "executionReport", "E": self.now_ms(), "s": order.venue_symbol, "c": o.client_id,
            "S": o.side.name, "o": "MARKET" if o.type is OrderType.MARKET else "LIMIT", "f": o.time_in_force.name,
            "q": f"{o.size:f}", "p": f"{o.price or _ZERO:f}", "C": "", "x": execution, "X": order.status,
            "r": "NONE", "i": order.order_id, "z": f"{order.executed:f}", "T": self.now_ms(),
            "l": fill["qty"] if fill else "0", "L": fill["price"] if fill else "0",
            "n": fill["commission"] if fill else "0", "N": fill["commissionAsset"] if fill else None,
            "t": fill["id"] if fill else -1, "m": bool(fill and fill["isMaker"]), "Z": f"{order.quote_executed:f}",
        }
        copies = 1
        if "duplicate_report" in self._armed:
            self._armed.discard("duplicate_report")
            copies = 2
        self._pending_reports += [(order.account, event)] * copies

    async def _flush_reports(self) -> None:
        pending, self._pending_reports = self._pending_reports, []
        if not pending:
            return
        for account, event in pending:
            if account.api_key in self._dropped_streams:
                self.stats.reports_lost += 1
                continue
            sent = False
            for session in list(self._sessions):
                for sub_id, sub_account in session.subscriptions.items():
                    if sub_account is account:
                        session.ws.buffer(_encoder.encode({"subscriptionId": sub_id, "event": event}))
                        sent = True
            self.stats.reports_sent += sent
            self.stats.reports_lost += not sent
        for session in list(self._sessions):
            await self._flush_session(session)

    async def _send(self, session: _Session, answer: dict[str, Any]) -> None:
        session.ws.buffer(_encoder.encode(answer))
        await self._flush_session(session)

    async def _flush_session(self, session: _Session) -> None:
        try:
            await session.ws.flush()
        except ConnectionClosed:
            if session in self._sessions:
                self._sessions.remove(session)

