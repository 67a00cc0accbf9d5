"""Local L2 order book and the Binance diff-depth synchronisation procedure (sans-IO).

Venues that send their snapshots on the stream (Coinbase, Kraken, OKX, Bybit) reset
the book on each; deltas are checked by update id where the venue sends one
(``prevSeqId``, ``u``) and by the venue's CRC32 checksum where it sends one (Kraken,
OKX); a break or a mismatch emits a ``Gap`` and the book waits for the resubscribe's
snapshot.

REST sync procedure (Binance spot, official docs): buffer diffs; take a REST snapshot; if its
``lastUpdateId`` is older than the first buffered diff's ``U``, take another; drop diffs
with ``u <= lastUpdateId``; the first diff applied must straddle ``lastUpdateId + 1``;
from then on every diff must start at the previous ``u + 1``. Anything else is a gap:
a :class:`~botkit.Gap` is emitted and the book resyncs from a new snapshot. Venues that
link diffs with ``pu`` (Binance futures) are checked on that instead.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import neg

from .._events import BookDelta, BookSnapshot, Event, Gap, Level
from . import _compiled
from ._trades import JUMP_LIMIT

__all__ = ["BookSync", "OrderBook"]

_ZERO = Decimal(0)


class OrderBook:
    """An L2 book: price -> size per side. Size 0 in an update removes the level.

    Built for reading on every update: the best level is O(1), the top ``n`` levels
    O(n), a level change O(log n) (a change of size at an existing price O(1)), at any
    depth; prices and sizes stay the exact ``Decimal`` the venue sent.

    Example::

        book = OrderBook()
        book.reset(snapshot)
        book.apply(delta)
        book.best_bid(), book.best_ask(), book.mid(), book.levels(10)
    """

    # Each side keeps its levels in a dict by price and the prices in a sorted list with
    # the best level LAST: bids ascending, asks descending. Books change mostly near the
    # top, so an insert or removal there moves only a few list slots (and the search
    # starts at that end), and the levels stored are the venue's own (price, size)
    # tuples (nothing copied).
    __slots__ = ("_ask_keys", "_ask_levels", "_bid_keys", "_bid_levels", "last_update_id")

    def __init__(self) -> None:
        self._bid_keys: list[Decimal] = []
        self._bid_levels: dict[Decimal, Level] = {}
        self._ask_keys: list[Decimal] = []
        self._ask_levels: dict[Decimal, Level] = {}
        #: Exchange update id the book reflects (-1: unknown).
        self.last_update_id = -1

    def reset(self, snapshot: BookSnapshot) -> None:
        """Replace the book by ``snapshot``."""
        self._bid_levels = {level[0]: level for level in snapshot.bids if level[1]}
        self._bid_keys = sorted(self._bid_levels)
        self._ask_levels = {level[0]: level for level in snapshot.asks if level[1]}
        self._ask_keys = sorted(self._ask_levels, reverse=True)
        self.last_update_id = snapshot.last_update_id

    def apply(self, delta: BookDelta) -> None:
        """Apply ``delta`` (no sequence check: :class:`BookSync` does that)."""
        bids, asks = delta.bids, delta.asks
        update = _compiled_update if type(bids) is tuple and type(asks) is tuple else _update_side
        if bids:
            update(self._bid_keys, self._bid_levels, bids, False)
        if asks:
            update(self._ask_keys, self._ask_levels, asks, True)
        self.last_update_id = delta.last_update_id

    def best_bid(self) -> Level | None:
        """Highest bid ``(price, size)``."""
        keys = self._bid_keys
        return self._bid_levels[keys[-1]] if keys else None

    def best_ask(self) -> Level | None:
        """Lowest ask ``(price, size)``."""
        keys = self._ask_keys
        return self._ask_levels[keys[-1]] if keys else None

    def levels(self, depth: int | None = None) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """``(bids best-first, asks best-first)``, at most ``depth`` each."""
        return _top(self._bid_keys, self._bid_levels, depth), _top(self._ask_keys, self._ask_levels, depth)

    @property
    def bids(self) -> dict[Decimal, Decimal]:
        """A copy of the bids, price -> size, best first (O(n): for inspection)."""
        return dict(_top(self._bid_keys, self._bid_levels, None))

    @property
    def asks(self) -> dict[Decimal, Decimal]:
        """A copy of the asks, price -> size, best first (O(n): for inspection)."""
        return dict(_top(self._ask_keys, self._ask_levels, None))

    def depth(self) -> tuple[int, int]:
        """``(bid levels, ask levels)``."""
        return len(self._bid_keys), len(self._ask_keys)

    def size_at(self, price: Decimal) -> Decimal:
        """The size resting at ``price`` (on either side), 0 if none."""
        level = self._bid_levels.get(price) or self._ask_levels.get(price)
        return level[1] if level else _ZERO

    def bid_volume(self, down_to: Decimal) -> Decimal:
        """Total bid size at prices ``>= down_to``: what a sell sweeping down to that
        price could take."""
        keys, levels = self._bid_keys, self._bid_levels
        return sum([levels[key][1] for key in keys[bisect_left(keys, down_to):]], _ZERO)

    def ask_volume(self, up_to: Decimal) -> Decimal:
        """Total ask size at prices ``<= up_to``: what a buy sweeping up to that price
        could take."""
        keys, levels = self._ask_keys, self._ask_levels
        return sum([levels[key][1] for key in keys[bisect_left(keys, -up_to, key=neg):]], _ZERO)

    def mid(self) -> Decimal | None:
        """``(best bid + best ask) / 2``, None while a side is empty."""
        if not (self._bid_keys and self._ask_keys):
            return None
        return (self._bid_levels[self._bid_keys[-1]][0] + self._ask_levels[self._ask_keys[-1]][0]) / 2

    def spread(self) -> Decimal | None:
        """``best ask - best bid``, None while a side is empty."""
        if not (self._bid_keys and self._ask_keys):
            return None
        return self._ask_levels[self._ask_keys[-1]][0] - self._bid_levels[self._bid_keys[-1]][0]

    def imbalance(self, depth: int = 1) -> Decimal | None:
        """``(bid size - ask size) / (bid size + ask size)`` over the best ``depth``
        levels of each side, from -1 (all asks) to 1 (all bids); None on an empty book."""
        bids = sum([level[1] for level in _top(self._bid_keys, self._bid_levels, depth)], _ZERO)
        asks = sum([level[1] for level in _top(self._ask_keys, self._ask_levels, depth)], _ZERO)
        total = bids + asks
        return (bids - asks) / total if total else None

    def truncate(self, depth: int) -> None:
        """Keep the best ``depth`` levels per side (what a depth-limited venue keeps)."""
        for keys, levels in ((self._bid_keys, self._bid_levels), (self._ask_keys, self._ask_levels)):
            excess = len(keys) - max(depth, 0)
            if excess > 0:
                for key in keys[:excess]:
                    del levels[key]
                del keys[:excess]

    def crossed(self) -> bool:
        """True if the best bid is at or above the best ask."""
        bids, asks = self._bid_keys, self._ask_keys
        return bool(bids and asks) and self._bid_levels[bids[-1]][0] >= self._ask_levels[asks[-1]][0]


def _top(keys: list[Decimal], levels: dict[Decimal, Level], depth: int | None) -> tuple[Level, ...]:
    """The best ``depth`` levels of a side (all for None), best first."""
    chosen = keys[::-1] if depth is None else keys[: -max(depth, 0) - 1 : -1]
    return tuple(map(levels.__getitem__, chosen))


def _update_side(keys: list[Decimal], levels: dict[Decimal, Level], changes: Sequence[Level],
                 descending: bool) -> None:
    """Apply ``changes`` to one side (``keys`` ascending, or descending for asks): the
    reference of the compiled ``_cbook.update_side``."""
    order = neg if descending else None
    for level in changes:
        price = level[0]
        if level[1]:
            if price not in levels:
                insort(keys, price, key=order)
            levels[price] = level
        elif levels.pop(price, None) is not None:
            del keys[bisect_left(keys, -price if descending else price, key=order)]


# The compiled update loop (_cbook.c) where built, else its reference above.
_compiled_update = _compiled.update_side or _update_side


class BookSync:
    """Keeps one symbol's deltas continuous; returns the events a strategy may trust.

    :ivar needs_snapshot: True while the book waits for a (new) snapshot: the I/O layer
        should fetch one (or resubscribe) and feed it to :meth:`on_snapshot`.

    :param stream_snapshots: the venue sends snapshots on the stream: deltas before a
        snapshot are obsolete (dropped), not buffered for a REST snapshot.
    :param sequenced: the venue numbers its deltas (False: Kraken, Coinbase level2).
    :param checksum: the venue's checksum of a book, compared with ``delta.checksum``.
    :param depth: levels per side the venue maintains (deeper ones are dropped, as the
        venue's checksum assumes).
    :param levels: keep the book's levels (False: only its update id, all sequencing
        needs; :attr:`book` then stays empty).
    """

    def __init__(
        self,
        venue: str,
        symbol: str,
        *,
        max_buffer: int = 10_000,
        stream_snapshots: bool = False,
        sequenced: bool = True,
        checksum: Callable[[OrderBook], int] | None = None,
        depth: int | None = None,
        levels: bool = True,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.stream_snapshots = stream_snapshots
        self.sequenced = sequenced
        self.checksum = checksum
        self.depth = depth
        #: Checksums compared, and mismatches found.
        self.checks = 0
        self.mismatches = 0
        #: Buffered diffs dropped on a snapshot because they did not chain with the rest.
        self.outliers = 0
        self.book = OrderBook()
        self._levels = levels or checksum is not None or depth is not None
        self.synced = False
        self.needs_snapshot = True
        self.resyncs = 0
        self._buffer: list[BookDelta] = []
        self._max_buffer = max_buffer
        self._fresh = False

    def on_delta(self, delta: BookDelta) -> list[Event]:
        """A diff from the stream."""
        if not self.synced:
            if self.stream_snapshots:
                return []  # the venue's next snapshot supersedes it
            self._buffer.append(delta)
            if len(self._buffer) > self._max_buffer:
                del self._buffer[: len(self._buffer) - self._max_buffer]
            return []
        return self._apply(delta)

    def on_snapshot(self, snapshot: BookSnapshot) -> list[Event]:
        """A REST snapshot; returns the snapshot and the buffered deltas that follow it,
        or ``[]`` if the snapshot is too old for the buffer (``needs_snapshot`` stays set)."""
        start = self._start(snapshot.last_update_id)
        if start < 0:
            return []  # older than the first diff we hold: fetch another
        if start:
            self.outliers += sum(d.last_update_id > snapshot.last_update_id for d in self._buffer[:start])
            del self._buffer[:start]
        if self._levels:
            self.book.reset(snapshot)
        else:
            self.book.last_update_id = snapshot.last_update_id
        mismatch = self._settle(snapshot.checksum, snapshot.ts_recv)
        if mismatch:
            return mismatch
        self.synced = True
        self.needs_snapshot = False
        self._fresh = True
        out: list[Event] = [snapshot]
        buffered, self._buffer = self._buffer, []
        for index, delta in enumerate(buffered):
            out += self._apply(delta)
            if not self.synced:  # a gap inside the buffer: keep the rest for the next snapshot
                self._buffer += buffered[index + 1 :]
                break
        return out

    def _start(self, last: int) -> int:
        """Index of the buffered diff a snapshot at ``last`` goes on from, or -1 when the
        snapshot is too old for the buffer.

        Normally the first diff newer than the snapshot: it straddles ``last + 1``. When
        that one does not but a later one does, the diffs before it were not the venue's
        sequence (one corrupt id would otherwise make every snapshot look too old, for
        ever): they are dropped and counted as outliers.
        """
        buffer = self._buffer
        if not self.sequenced:
            return 0
        first_newer = -1
        for index, delta in enumerate(buffer):
            # pu-linked venues (Binance futures) start from the diff whose u is the snapshot's.
            newer = delta.last_update_id > last or (delta.prev_update_id >= 0 and delta.last_update_id == last)
            if not newer or delta.first_update_id < 0:
                continue
            if delta.first_update_id <= last + 1:
                return index
            if first_newer < 0:
                first_newer = index
        if first_newer < 0:
            return len(buffer) if buffer and all(d.last_update_id <= last for d in buffer) else 0
        return -1

    def _apply(self, delta: BookDelta) -> list[Event]:
        if not self.sequenced or delta.first_update_id < 0:  # the venue sent no ids
            self._fresh = False
            return self._apply_checked(delta)
        last = self.book.last_update_id
        if delta.last_update_id <= last:
            # Already contained in the snapshot; except that Binance futures (pu-linked)
            # start from the event whose u equals the snapshot's lastUpdateId.
            if not (self._fresh and delta.last_update_id == last and delta.prev_update_id >= 0):
                if not self._fresh and last - delta.last_update_id > JUMP_LIMIT:
                    # Far behind the book: the book's id is what is wrong (one corrupt
                    # id that chained), or every later diff would be dropped as old.
                    return self._gap(delta)
                return []
        if self._fresh:
            # The first diff after a snapshot must straddle it.
            ok = delta.first_update_id <= last + 1
        elif delta.prev_update_id >= 0:
            ok = delta.prev_update_id == last
        else:
            ok = delta.first_update_id == last + 1
        if not ok:
            return self._gap(delta)
        self._fresh = False
        return self._apply_checked(delta)

    def _apply_checked(self, delta: BookDelta) -> list[Event]:
        if self._levels:
            self.book.apply(delta)
        else:
            self.book.last_update_id = delta.last_update_id
            return [delta]
        return self._settle(delta.checksum, delta.ts_recv) or [delta]

    def _settle(self, expected: int | None, ts_recv: int) -> list[Event]:
        """After a change: keep the venue's depth and compare its checksum. ``[]`` if the
        book is sound, else a Gap (channel ``books:checksum``, expected = the venue's
        checksum, received = ours) and a wait for a new snapshot."""
        if self.depth is not None:
            self.book.truncate(self.depth)
        if expected is None or self.checksum is None:
            return []
        self.checks += 1
        ours = self.checksum(self.book)
        if ours == expected:
            return []
        self.mismatches += 1
        self._break([])
        return [Gap(self.venue, self.symbol, "books:checksum", expected, ours, ts_recv)]

    def _break(self, buffer: list[BookDelta]) -> None:
        """The book can no longer be trusted: wait for a snapshot, holding ``buffer``."""
        self.synced = False
        self.needs_snapshot = True
        self.resyncs += 1
        self._buffer = buffer

    def invalidate(self) -> None:
        """The feed was interrupted: whatever changed meanwhile is unknown, so drop the
        sync and wait for a fresh snapshot (diffs from now on are buffered for it)."""
        if self.synced:
            self.synced = False
            self.resyncs += 1
        self.needs_snapshot = True
        self._buffer = []

    def _gap(self, delta: BookDelta) -> list[Event]:
        expected = self.book.last_update_id + 1
        self._break([delta])
        return [Gap(self.venue, self.symbol, "books", expected, delta.first_update_id, delta.ts_recv)]
