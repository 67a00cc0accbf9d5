"""botkit: an event-driven trading bot framework.

Write a :class:`Strategy`, run it live or on a recording with the same code::

    import botkit

    class Scalper(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def on_trade(self, trade: botkit.Trade) -> None:
            ...

Then ``botkit backtest scalper.py --data FILE`` or ``botkit run scalper.py``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._build import PreparedRun as PreparedRun
from ._build import build_run as build_run
from ._clock import Clock as Clock
from ._clock import LiveClock as LiveClock
from ._clock import VirtualClock as VirtualClock
from ._codec import from_dict as from_dict
from ._codec import to_dict as to_dict
from ._engine import Engine as Engine
from ._engine import RunSummary as RunSummary
from ._events import Bar as Bar
from ._events import BookDelta as BookDelta
from ._events import BookSnapshot as BookSnapshot
from ._events import ConnectionState as ConnectionState
from ._events import Event as Event
from ._events import FeedStatus as FeedStatus
from ._events import Gap as Gap
from ._events import Quote as Quote
from ._events import Side as Side
from ._events import Timer as Timer
from ._events import Trade as Trade
from ._exceptions import BotkitError as BotkitError
from ._exceptions import BotkitInternalError as BotkitInternalError
from ._exceptions import ConfigError as ConfigError
from ._exceptions import DataError as DataError
from ._exceptions import FeedError as FeedError
from ._exceptions import HookTimeout as HookTimeout
from ._exceptions import JournalError as JournalError
from ._exceptions import ParseError as ParseError
from ._exceptions import StrategyError as StrategyError
from ._exceptions import UsageError as UsageError
from ._orders import Fill as Fill
from ._orders import Order as Order
from ._orders import OrderStatus as OrderStatus
from ._orders import OrderType as OrderType
from ._orders import OrderUpdate as OrderUpdate
from ._runconfig import RunConfig as RunConfig
from ._strategy import Feed as Feed
from ._strategy import Strategy as Strategy
from ._symbols import normalise_symbol as normalise_symbol
from ._version import __version__ as __version__
from .dashboard import DashboardSettings as DashboardSettings
from .execution._accounts import AccountSettings as AccountSettings
from .execution._broker import Broker as Broker
from .execution._instruments import Instrument as Instrument
from .execution._market import MarketState as MarketState
from .execution._paper import PaperBroker as PaperBroker
from .execution._paper import PaperConfig as PaperConfig
from .execution._portfolio import Portfolio as Portfolio
from .execution._portfolio import Position as Position
from .execution._risk import RiskLimits as RiskLimits
from .execution._risk import VenueLimits as VenueLimits
from .journal import Journal as Journal
from .protocol._book import OrderBook as OrderBook
from .protocol._ratelimit import RestLimiter as RestLimiter
from .protocol._reconnect import ReconnectPolicy as ReconnectPolicy
from .sources import EventSource as EventSource
from .sources import MemorySource as MemorySource
from .sources import MergedSource as MergedSource
from .sources import ReplaySource as ReplaySource
from .sources._parquet import read_events as read_events

if _TYPE_CHECKING:
    from .sources._websocket import WebSocketSource as WebSocketSource

__all__ = [
    "AccountSettings",
    "Bar",
    "BookDelta",
    "BookSnapshot",
    "BotkitError",
    "BotkitInternalError",
    "Broker",
    "Clock",
    "ConfigError",
    "ConnectionState",
    "DashboardSettings",
    "DataError",
    "Engine",
    "Event",
    "EventSource",
    "Feed",
    "FeedError",
    "FeedStatus",
    "Fill",
    "Gap",
    "HookTimeout",
    "Instrument",
    "Journal",
    "JournalError",
    "LiveClock",
    "MarketState",
    "MemorySource",
    "MergedSource",
    "Order",
    "OrderBook",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PaperBroker",
    "PaperConfig",
    "ParseError",
    "Portfolio",
    "Position",
    "PreparedRun",
    "Quote",
    "ReconnectPolicy",
    "ReplaySource",
    "RestLimiter",
    "RiskLimits",
    "RunConfig",
    "RunSummary",
    "Side",
    "Strategy",
    "StrategyError",
    "Timer",
    "Trade",
    "UsageError",
    "VenueLimits",
    "VirtualClock",
    "WebSocketSource",
    "__version__",
    "build_run",
    "from_dict",
    "normalise_symbol",
    "read_events",
    "to_dict",
]



def __getattr__(name: str) -> _Any:
    # The WebSocket source imports trio and wsproto: loaded when first asked for.
    if name == "WebSocketSource":
        from .sources._websocket import WebSocketSource

        WebSocketSource.__module__ = "botkit"
        return WebSocketSource
    raise AttributeError(f"module 'botkit' has no attribute {name!r}")


for _name in __all__:
    if _name == "WebSocketSource":
        continue
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith("botkit."):
        try:
            _obj.__module__ = "botkit"
        except (AttributeError, TypeError):
            pass
del _name, _obj
