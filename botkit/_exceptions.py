"""Every error botkit raises on purpose, under one root.

::

    BotkitError                 catch-all: ``except botkit.BotkitError``
    ├── ConfigError             bad configuration, CLI argument or strategy file
    ├── UsageError              a strategy misused the API (e.g. a timer with a negative delay)
    ├── DataError               a recorded data file is unreadable or corrupt (names file and line)
    ├── JournalError            a journal is corrupt, newer than this botkit, or in use
    ├── FeedError               the venue or network misbehaved
    │   └── ParseError          a frame could not be turned into events
    ├── StrategyError           a strategy hook raised; the user's exception is ``__cause__``
    └── BotkitInternalError     should never happen: please report it

All exceptions keep their constructor arguments (``copy`` and ``pickle`` safe).
"""

from __future__ import annotations

__all__ = [
    "BotkitError",
    "BotkitInternalError",
    "ConfigError",
    "DataError",
    "FeedError",
    "HookTimeout",
    "JournalError",
    "ParseError",
    "StrategyError",
    "UsageError",
]


class BotkitError(Exception):
    """Root of every error botkit raises on purpose.

    Example::

        try:
            summary = await engine.run()
        except botkit.BotkitError as exc:
            print(f"botkit: {exc}")
    """


class ConfigError(BotkitError):
    """A configuration value, CLI argument or strategy file is invalid; fix the input."""


class UsageError(BotkitError):
    """Your strategy called the API in a way it does not allow (your side, not the venue's)."""


class DataError(BotkitError):
    """A recorded data file cannot be read, or one of its lines is corrupt.

    :param path: the file.
    :param line: 1-based line number, or 0 when the whole file is unreadable.
    :param reason: what is wrong with it.
    """

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(path, line, reason)
        self.path = path
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


class JournalError(BotkitError):
    """A journal cannot be used: corrupt, of a newer schema, of another strategy or venue,
    or held by another process. The file is never changed when this is raised."""


class FeedError(BotkitError):
    """The venue or the network misbehaved (the remote side's fault, not yours)."""


class ParseError(FeedError):
    """A frame could not be parsed into events.

    Parsers raise only this, whatever the input; the feed counts it, logs it and goes on.

    :param reason: what was wrong.
    :param frame: the offending frame, truncated to 200 characters for logs.
    """

    def __init__(self, reason: str, frame: bytes | str = b"") -> None:
        if isinstance(frame, bytes):
            frame = frame[:200].decode("utf-8", "replace")
        frame = frame[:200]
        super().__init__(reason, frame)
        self.reason = reason
        self.frame = frame

    def __str__(self) -> str:
        return f"{self.reason}: {self.frame!r}" if self.frame else self.reason


class StrategyError(BotkitError):
    """A strategy hook raised; the original exception is ``__cause__``.

    :param strategy: the strategy's class name.
    :param hook: the hook that raised, e.g. ``on_trade``.
    :param error: a one-line rendering of the original exception.
    """

    def __init__(self, strategy: str, hook: str, error: str) -> None:
        super().__init__(strategy, hook, error)
        self.strategy = strategy
        self.hook = hook
        self.error = error

    def __str__(self) -> str:
        return f"strategy {self.strategy}.{self.hook} raised {self.error}"


class HookTimeout(StrategyError):
    """An ``async`` hook did not return in time and was cancelled (the watchdog's
    ``hook_timeout_s``, or the grace after a stop); ``error`` says how long it ran."""

    def __str__(self) -> str:
        return f"strategy {self.strategy}.{self.hook} {self.error}: cancelled, trading halted"


class BotkitInternalError(BotkitError):
    """Something that should never happen did: please report it with the traceback."""


def leaf_errors(error: BaseException) -> list[BaseException]:
    """The exceptions inside ``error``, unwrapped from any nesting of exception groups
    (task groups wrap whatever their tasks raise)."""
    leaves: list[BaseException] = []
    stack = [error]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    return leaves
