"""Lossless trade sequencing per symbol: every trade once, in id order, gaps backfilled.

Sans-IO: the I/O layer fetches what :attr:`TradeSequencer.pending` asks for (REST pages
from a trade id) and feeds the answers back with :meth:`TradeSequencer.on_backfill`.
While a range is being backfilled, live trades of that symbol are held, then released
after the backfilled ones, so the strategy sees ids strictly increasing by one. If the
venue cannot serve the range (answers stop short, errors, or the hold grows past its
bound) a :class:`~botkit.Gap` says exactly which ids are missing, and trading continues.

One frame must not move the state far: a trade whose id is more than ``jump_limit`` away
from the sequence (a corrupt id, a 40-digit id, a stray frame) is held until the next
trade of its symbol says which is true. If that trade continues the old sequence, the
held one was an outlier: it is dropped and counted (``outliers``) with a ``FeedStatus``
saying so. If it continues from the held one, the jump was real: the held trade goes on
as a gap (or backfill) would, one trade late. A trade far *behind* is held the same way:
confirmed by its successor, the sequence restarts there (the trade before was the
outlier); alone, it is a duplicate.
"""

from __future__ import annotations

import attrs

from .._events import ConnectionState, Event, FeedStatus, Gap, Trade

__all__ = ["BackfillRequest", "TradeSequencer"]

_MAX_HELD = 200_000
#: Ids further than this from the sequence wait for the next trade to confirm them.
JUMP_LIMIT = 1_000


@attrs.frozen
class BackfillRequest:
    """Fetch trades of ``symbol`` from id ``from_id``; ``until_id`` (exclusive) is where
    held live trades resume, or -1 when unknown (after a reconnect)."""

    symbol: str
    from_id: int
    until_id: int


@attrs.define
class _State:
    symbol: str
    held: list[Trade] = attrs.Factory(list)
    active: BackfillRequest | None = None
    backfilled: int = 0
    #: A trade far from the sequence, waiting for the next one to confirm it.
    suspect: Trade | None = None


class TradeSequencer:
    """Per-symbol trade-id state for one venue.

    The compiled hot path (:class:`~botkit.protocol.FrameDecoder` with the accelerator)
    delivers a trade itself when its id is exactly one past :attr:`last_ids` for a
    symbol not in :attr:`held_symbols`, and advances :attr:`last_ids`; that is its whole
    contract with the sequencer. Every other trade goes through :meth:`on_trades`.

    :param backfill: hold and backfill on gaps (live); False: emit a ``Gap`` at once.
    :param jump_limit: ids further than this from the sequence wait for confirmation.
    :ivar pending: backfill requests not yet handed to the I/O layer (symbol -> request).
    :ivar last_ids: symbol -> id of the last trade delivered.
    :ivar held_symbols: symbols whose trades the sequencer decides itself: held for a
        backfill, or with a far jump waiting for confirmation.
    :ivar outliers: trades dropped because their id jumped and the next trade did not
        follow it.
    """

    def __init__(self, venue: str, *, backfill: bool = True, jump_limit: int = JUMP_LIMIT) -> None:
        self.venue = venue
        self.backfill_enabled = backfill
        self.jump_limit = jump_limit
        self.pending: dict[str, BackfillRequest] = {}
        self.gaps = 0
        self.duplicates = 0
        self.backfilled = 0
        self.outliers = 0
        self.last_ids: dict[str, int] = {}
        self.held_symbols: set[str] = set()
        self._states: dict[str, _State] = {}

    def on_trades(self, trades: list[Event]) -> list[Event]:
        """Live trades (one frame's worth) in, deliverable events out."""
        last_ids = self.last_ids
        if len(trades) == 1:
            # The common case, kept short: the next id of a symbol not being backfilled.
            trade = trades[0]
            symbol = trade.symbol  # type: ignore[union-attr]
            if trade.trade_id == last_ids.get(symbol, -2) + 1 and symbol not in self.held_symbols:  # type: ignore[union-attr]
                last_ids[symbol] = trade.trade_id  # type: ignore[union-attr]
                return trades
        out: list[Event] = []
        for trade in trades:
            if type(trade) is not Trade:
                out.append(trade)
                continue
            state = self._state(trade.symbol)
            if self._screen(state, trade, out):
                self._take(state, trade, out)
        return out

    def flush(self) -> list[Event]:
        """End of the data: a trade still waiting for confirmation goes on as it is
        (nothing follows that it could blind)."""
        out: list[Event] = []
        for state in self._states.values():
            suspect = state.suspect
            if suspect is not None:
                self._set_suspect(state, None)
                self._take(state, suspect, out)
        return out

    def request_backfill(self, symbol: str) -> None:
        """After a reconnect: fetch whatever came after the last delivered trade."""
        state = self._states.get(symbol)
        last = self.last_ids.get(symbol, -1)
        if state is None or last < 0 or state.active is not None or not self.backfill_enabled:
            return
        self._start(state, BackfillRequest(symbol, last + 1, -1))

    def symbols(self) -> list[str]:
        """Symbols seen so far."""
        return list(self._states)

    def _state(self, symbol: str) -> _State:
        state = self._states.get(symbol)
        if state is None:
            state = self._states[symbol] = _State(symbol)
            self.last_ids[symbol] = -1
        return state

    def on_backfill(self, symbol: str, trades: list[Trade], page_limit: int, ts_recv: int) -> list[Event]:
        """A REST page of trades (ascending ids) for ``symbol``; ``page_limit`` is the page
        size asked for (a shorter page means the venue has nothing more)."""
        state = self._state(symbol)
        last_ids = self.last_ids
        request = state.active
        out: list[Event] = []
        until = request.until_id if request is not None else -1
        for trade in trades:
            last = last_ids[symbol]
            if until >= 0 and trade.trade_id >= until:
                break
            if trade.trade_id <= last:
                continue  # overlap with what was delivered: not a duplicate delivery
            if last >= 0 and trade.trade_id != last + 1:
                break  # the venue skipped ids: stop here, report the hole below
            last_ids[symbol] = trade.trade_id
            state.backfilled += 1
            self.backfilled += 1
            out.append(trade)
        if request is None:
            return out
        if until >= 0 and last_ids[symbol] + 1 >= until:
            return out + self._finish(state, ts_recv)
        if until < 0 and len(trades) < page_limit:
            return out + self._finish(state, ts_recv)  # reached the present
        if len(trades) < page_limit or not out:
            return out + self._give_up(state, "the venue did not serve the missing range")
        self.pending[symbol] = BackfillRequest(symbol, last_ids[symbol] + 1, until)
        return out

    def on_backfill_failed(self, symbol: str, reason: str) -> list[Event]:
        """The I/O layer could not fetch the range: report the hole and move on."""
        state = self._states.get(symbol)
        if state is None or state.active is None:
            return []
        return self._give_up(state, reason)

    def backfilling(self, symbol: str) -> bool:
        """True while ``symbol``'s live trades are held for a backfill."""
        state = self._states.get(symbol)
        return state is not None and state.active is not None

    def backfills(self) -> int:
        """Symbols being backfilled now."""
        return sum(state.active is not None for state in self._states.values())

    # -- internals --------------------------------------------------------------------

    def _screen(self, state: _State, trade: Trade, out: list[Event]) -> bool:
        """False when ``trade`` is held (or dropped) as a possible outlier; True when it
        goes on (after a confirmed suspect, which then goes first)."""
        limit = self.jump_limit
        tid = trade.trade_id
        ref = state.held[-1].trade_id if state.held else self.last_ids[state.symbol]
        suspect = state.suspect
        if suspect is None:
            if ref < 0 or -limit <= tid - ref <= limit:
                return True
            self._set_suspect(state, trade)
            return False
        sid = suspect.trade_id
        if tid == sid:
            self.duplicates += 1
            return False
        if -limit <= tid - ref <= limit:  # the old sequence goes on: the suspect was wrong
            self._set_suspect(state, None)
            if sid < ref:
                self.duplicates += 1
            else:
                self.outliers += 1
                out.append(FeedStatus(self.venue, ConnectionState.LIVE,
                                      f"dropped trade id {sid} of {state.symbol}: {sid - ref:+d} from the "
                                      f"sequence and not followed", suspect.ts_recv))
            return True
        if -limit <= tid - sid <= limit:  # the next trade follows the suspect: the jump is real
            self._set_suspect(state, None)
            if sid < ref:
                self._restart(state, suspect, out)
            self._take(state, suspect, out)
            return True
        # Far from both: the old suspect stood alone; this one takes its place.
        self._set_suspect(state, None)
        self.outliers += 1
        out.append(FeedStatus(self.venue, ConnectionState.LIVE,
                              f"dropped trade id {sid} of {state.symbol}: not followed", suspect.ts_recv))
        return self._screen(state, trade, out)

    def _set_suspect(self, state: _State, trade: Trade | None) -> None:
        state.suspect = trade
        if trade is not None:
            self.held_symbols.add(state.symbol)
        elif state.active is None:
            self.held_symbols.discard(state.symbol)

    def _restart(self, state: _State, first: Trade, out: list[Event]) -> None:
        """Confirmed ids far below the sequence: what was delivered last was the outlier."""
        symbol = state.symbol
        self.outliers += 1
        if state.active is not None:
            out += self._give_up(state, f"trade ids continue at {first.trade_id}")
        out.append(FeedStatus(self.venue, ConnectionState.LIVE,
                              f"trade ids of {symbol} continue at {first.trade_id}, below the last one "
                              f"delivered ({self.last_ids[symbol]}): that one was an outlier", first.ts_recv))
        self.last_ids[symbol] = first.trade_id - 1

    def _take(self, state: _State, trade: Trade, out: list[Event]) -> None:
        """A screened trade: held while its symbol is backfilled, else accepted."""
        if state.active is None:
            self._accept(state, trade, out)
            return
        tid = trade.trade_id
        if tid > self.last_ids[trade.symbol] and (not state.held or tid > state.held[-1].trade_id):
            state.held.append(trade)
            if len(state.held) > _MAX_HELD:
                out += self._give_up(state, "backfill took too long")
        else:
            self.duplicates += 1

    def _accept(self, state: _State, trade: Trade, out: list[Event]) -> None:
        tid = trade.trade_id
        last = self.last_ids[state.symbol]
        if last >= 0:
            if tid <= last:
                self.duplicates += 1
                return
            if tid != last + 1:
                if self.backfill_enabled:
                    self._start(state, BackfillRequest(trade.symbol, last + 1, tid))
                    state.held.append(trade)
                    return
                self.gaps += 1
                out.append(Gap(self.venue, trade.symbol, "trades", last + 1, tid, trade.ts_recv))
        self.last_ids[state.symbol] = tid
        out.append(trade)

    def _start(self, state: _State, request: BackfillRequest) -> None:
        state.active = request
        state.backfilled = 0
        self.held_symbols.add(state.symbol)
        self.pending[request.symbol] = request

    def _finish(self, state: _State, ts_recv: int) -> list[Event]:
        count = state.backfilled
        out: list[Event] = [FeedStatus(self.venue, ConnectionState.LIVE, f"backfilled {count} trades of {state.symbol}",
                                       ts_recv, backfilled=count)]
        out += self._release(state)
        return out

    def _give_up(self, state: _State, reason: str) -> list[Event]:
        symbol = state.symbol
        last = self.last_ids[symbol]
        held = state.held
        first = held[0] if held else None
        out: list[Event] = []
        if first is not None and first.trade_id > last + 1:
            self.gaps += 1
            out.append(Gap(self.venue, symbol, "trades", last + 1, first.trade_id, first.ts_recv))
        elif first is None and state.active is not None and state.active.until_id > last + 1:
            self.gaps += 1
            out.append(Gap(self.venue, symbol, "trades", last + 1, state.active.until_id, 0))
        out.append(FeedStatus(self.venue, ConnectionState.LIVE, f"backfill of {symbol} abandoned: {reason}",
                              held[0].ts_recv if held else 0, backfilled=state.backfilled))
        if first is not None:
            self.last_ids[symbol] = first.trade_id - 1
        return out + self._release(state)

    def _release(self, state: _State) -> list[Event]:
        held, state.held = state.held, []
        state.active = None
        if state.suspect is None:
            self.held_symbols.discard(state.symbol)
        self.pending.pop(state.symbol, None)
        out: list[Event] = []
        for trade in held:
            self._accept(state, trade, out)
            if state.active is not None:  # a hole inside the held trades: backfill again
                state.held += [t for t in held if t.trade_id > trade.trade_id]
                break
        return out
