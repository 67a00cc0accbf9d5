"""Binance spot WebSocket API (``ws-api/v3``): requests out, responses and user-data
events in (sans-IO: bytes and values, no socket, no clock).

Requests are ``{"id", "method", "params"}`` text frames; a response echoes the ``id``
with a ``status`` and a ``result`` or an ``error``; user-data events come as
``{"subscriptionId", "event": {...}}``. The order views read here feed
:class:`~botkit.execution._tracker.OrderTracker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import msgspec

from ..._events import Side
from ..._orders import Order, OrderType, TimeInForce
from ..._symbols import normalise_symbol

__all__ = [
    "ERR_NO_SUCH_ORDER", "ERR_TIMESTAMP", "ERR_UNKNOWN_ORDER", "MAINNET_URL", "TESTNET_URL", "AccountUpdate",
    "ApiEvent", "ApiResponse", "ExecutionReport", "decode", "encode_request", "order_params", "parse_balances",
    "parse_order", "parse_trade", "venue_status",
]

MAINNET_URL = "wss://ws-api.binance.com:443/ws-api/v3"
TESTNET_URL = "wss://ws-api.testnet.binance.vision/ws-api/v3"

#: Error codes with a meaning for the order state (``errors.md``).
ERR_TIMESTAMP = -1021  # "Timestamp for this request is outside of the recvWindow."
ERR_UNKNOWN_ORDER = -2011  # cancel: "Unknown order sent."
ERR_NO_SUCH_ORDER = -2013  # query: "Order does not exist."
#: Codes that mean the key itself is refused: the run cannot trade at all.
KEY_ERRORS = frozenset({-2014, -2015, -1022, -1002})

_STATUS = {"NEW": "NEW", "PARTIALLY_FILLED": "PARTIALLY_FILLED", "FILLED": "FILLED", "CANCELED": "CANCELLED",
           "PENDING_CANCEL": "NEW", "REJECTED": "REJECTED", "EXPIRED": "EXPIRED", "EXPIRED_IN_MATCH": "EXPIRED",
           "PENDING_NEW": "PENDING"}
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def venue_status(text: str) -> str:
    """The tracker's state name for a Binance order status (``CANCELED`` -> ``CANCELLED``)."""
    return _STATUS.get(text, "NEW")


@attrs.frozen
class ApiResponse:
    """An answer to the request ``id``: ``result`` on 200, else ``code`` and ``msg``."""

    id: str
    status: int
    result: Any
    code: int = 0
    msg: str = ""
    #: (``rateLimitType``, interval in seconds, limit, count) of each limit reported.
    rate_limits: tuple[tuple[str, int, int, int], ...] = ()
    retry_after_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200


@attrs.frozen
class ExecutionReport:
    """An ``executionReport``: one order's state, and the fill it reports (``trade_id`` >= 0)."""

    symbol: str
    client_id: str
    order_id: int
    side: Side
    status: str
    executed: Decimal
    reason: str
    trade_id: int
    last_price: Decimal
    last_size: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    ts_ms: int


@attrs.frozen
class AccountUpdate:
    """``outboundAccountPosition``: balances (free + locked) of the assets that changed."""

    balances: dict[str, Decimal]
    ts_ms: int


@attrs.frozen
class ApiEvent:
    """Any other event (``eventStreamTerminated``, ``serverShutdown``, ``balanceUpdate``...)."""

    kind: str
    data: Mapping[str, Any]


_INTERVAL_S = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86_400}


def encode_request(request_id: str, method: str, params: Mapping[str, object] | None = None) -> bytes:
    """One request frame."""
    body: dict[str, object] = {"id": request_id, "method": method}
    if params:
        body["params"] = {k: (f"{v:f}" if isinstance(v, Decimal) else v) for k, v in params.items()}
    return _encoder.encode(body)


def order_params(order: Order, venue_symbol: str) -> dict[str, object]:
    """``order.place`` parameters for ``order`` (before signing)."""
    # Text once: the signature and the frame both use it.
    params: dict[str, object] = {
        "symbol": venue_symbol, "side": "BUY" if order.side is Side.BUY else "SELL",
        "quantity": f"{order.size:f}", "newClientOrderId": order.client_id, "newOrderRespType": "FULL",
    }
    if order.type is OrderType.MARKET:
        params["type"] = "MARKET"
    elif order.post_only:
        params.update(type="LIMIT_MAKER", price=f"{order.price:f}")
    else:
        params.update(type="LIMIT", price=f"{order.price:f}",
                      timeInForce="IOC" if order.time_in_force is TimeInForce.IOC else "GTC")
    return params


def decode(frame: bytes | str) -> ApiResponse | ExecutionReport | AccountUpdate | ApiEvent:
    """One frame from the WebSocket API.

    :raises ValueError: for a frame that is none of the documented shapes.
    """
    try:
        message = _decoder.decode(frame)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    if "event" in message:
        return _event(message["event"])
    if "status" not in message:
        raise ValueError("neither a response nor an event")
    status = int(message["status"])
    limits = tuple((str(r.get("rateLimitType", "")),
                    _INTERVAL_S.get(r.get("interval", ""), 0) * int(r.get("intervalNum", 1)),
                    int(r.get("limit", 0)), int(r.get("count", 0))) for r in message.get("rateLimits") or ())
    request_id = "" if message.get("id") is None else str(message["id"])
    if status == 200:
        return ApiResponse(request_id, status, message.get("result"), rate_limits=limits)
    error = message.get("error") or {}
    data = error.get("data") or {}
    return ApiResponse(request_id, status, None, int(error.get("code", 0)), str(error.get("msg", "")), limits,
                       int(data.get("retryAfter", 0)) if isinstance(data, dict) else 0)


def _event(event: Any) -> ExecutionReport | AccountUpdate | ApiEvent:
    if not isinstance(event, dict):
        raise ValueError("event is not an object")
    kind = str(event.get("e", ""))
    if kind == "executionReport":
        # A cancel's report names the cancel request in "c" and the order in "C".
        client = event.get("C") or event["c"]
        return ExecutionReport(
            normalise_symbol(event["s"]), str(client), int(event["i"]), Side.BUY if event["S"] == "BUY" else Side.SELL,
            venue_status(event["X"]), Decimal(event["z"]), "" if event.get("r") in (None, "NONE") else str(event["r"]),
            int(event.get("t") or -1), Decimal(event.get("L", "0")), Decimal(event.get("l", "0")),
            Decimal(event.get("n") or "0"), str(event.get("N") or ""), bool(event.get("m", False)),
            int(event.get("T") or event.get("E") or 0),
        )
    if kind == "outboundAccountPosition":
        return AccountUpdate(parse_balances(event.get("B", ()), "a", "f", "l"), int(event.get("E", 0)))
    return ApiEvent(kind, event)


def parse_order(row: Mapping[str, Any]) -> tuple[str, str, int, str, Decimal]:
    """(symbol, client id, order id, status, executed) of an order object (``order.place``,
    ``order.status``, ``openOrders.status``, ``order.cancel``)."""
    client = row.get("origClientOrderId") or row["clientOrderId"]
    return (normalise_symbol(row["symbol"]), str(client), int(row["orderId"]), venue_status(row["status"]),
            Decimal(row.get("executedQty", "0")))


def parse_trade(row: Mapping[str, Any]) -> tuple[str, int, int, Side, Decimal, Decimal, Decimal, str, bool, int]:
    """A ``myTrades`` row: (symbol, trade id, order id, side, price, size, fee, fee asset,
    maker, ms)."""
    return (normalise_symbol(row["symbol"]), int(row["id"]), int(row["orderId"]),
            Side.BUY if row["isBuyer"] else Side.SELL, Decimal(row["price"]), Decimal(row["qty"]),
            Decimal(row["commission"]), str(row["commissionAsset"]), bool(row["isMaker"]), int(row["time"]))


def parse_balances(rows: Any, asset: str = "asset", free: str = "free", locked: str = "locked") -> dict[str, Decimal]:
    """Total (free + locked) per asset of ``account.status`` balances or an account event."""
    return {str(r[asset]): Decimal(r[free]) + Decimal(r[locked]) for r in rows}
