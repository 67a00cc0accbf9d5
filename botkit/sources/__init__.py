"""Swappable event sources: recorded replay and in-memory now; live WebSocket next."""

from ._base import EventSource, FeedStats, Publish
from ._memory import MemorySource
from ._recording import RecordingReader, RecordingWriter
from ._replay import ReplaySource

__all__ = ["EventSource", "FeedStats", "MemorySource", "Publish", "RecordingReader", "RecordingWriter", "ReplaySource"]
