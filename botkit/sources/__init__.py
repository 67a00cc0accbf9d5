"""Swappable event sources: live WebSocket, recorded replay, in memory, several merged; the recorder."""

from ._base import EventSource, FeedStats, Publish
from ._memory import MemorySource
from ._merge import MergedSource
from ._recorder import FrameRecorder
from ._recording import RecordingReader, RecordingWriter
from ._replay import ReplaySource

__all__ = [
    "EventSource",
    "FeedStats",
    "FrameRecorder",
    "MemorySource",
    "MergedSource",
    "Publish",
    "RecordingReader",
    "RecordingWriter",
    "ReplaySource",
]


def __getattr__(name: str) -> object:
    # The WebSocket source imports trio and wsproto: load it only when asked for.
    if name == "WebSocketSource":
        from ._websocket import WebSocketSource

        return WebSocketSource
    raise AttributeError(name)
