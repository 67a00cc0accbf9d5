"""Events as Parquet: a recording or archive converted (``botkit convert``), replayed
(``--data X.parquet``), and read as Arrow tables for notebooks (``botkit.read_events``).

Layout: ``X.parquet`` is a directory holding one Parquet file per event type that
occurs (``trade.parquet``, ``quote.parquet``, ``book_snapshot.parquet``,
``book_delta.parquet``, ``bar.parquet``). Each has a column per field of the event
(see ``docs/recording-format.md``) and ``seq``, the event's place in the stream it came
from, so a replay puts the tables back in exactly that order. Decimals (prices, sizes,
book levels) are strings: exact, whatever their scale; ``pyarrow.compute.cast`` or
``Decimal`` takes them from there. Book levels are lists of ``[price, size]`` strings.

Needs pyarrow (``pip install 'botkit[parquet]'``).
"""

from __future__ import annotations

import types
import typing
from bisect import bisect_right
from collections.abc import Callable, Iterator
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

import anyio
import attrs

from .. import _events
from .._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade, fast_constructor
from .._exceptions import ConfigError, DataError
from ..protocol import _compiled
from ._base import EventSource, Publish

__all__ = ["EVENT_TABLES", "ParquetSource", "ParquetWriter", "is_parquet_path", "read_events"]

#: Table name -> the event type it holds.
EVENT_TABLES: dict[str, type] = {"trade": Trade, "quote": Quote, "book_snapshot": BookSnapshot,
                                 "book_delta": BookDelta, "bar": Bar}
_TABLE_OF = {cls: name for name, cls in EVENT_TABLES.items()}
_BATCH = 65_536  # rows per record batch read: a row group
_CHUNK = 8192  # events built at a time
_ROW_GROUP = 65_536


def _pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError("Parquet needs pyarrow: pip install 'botkit[parquet]'") from None
    return pyarrow


def is_parquet_path(path: str) -> bool:
    """Whether ``--data PATH`` names events as Parquet (a ``.parquet`` directory or file)."""
    return path.rstrip("/").endswith(".parquet")


def _kinds(cls: type) -> list[tuple[str, str]]:
    """(field, kind) of an event type: ``decimal``, ``int``, ``str``, ``bool``, ``side``,
    ``levels`` or ``int?`` (an int or None)."""
    # The events' own module resolves their annotations (their __module__ says botkit).
    hints = typing.get_type_hints(cls, globalns=vars(_events))
    kinds = []
    for field in attrs.fields(cls):
        hint = hints[field.name]
        if hint is Decimal:
            kind = "decimal"
        elif hint is Side:
            kind = "side"
        elif hint in (int, str, bool):
            kind = hint.__name__
        elif isinstance(hint, types.UnionType) and set(typing.get_args(hint)) == {int, type(None)}:
            kind = "int?"
        elif typing.get_origin(hint) is tuple:
            kind = "levels"
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: no Parquet column for {hint}")
        kinds.append((field.name, kind))
    return kinds


def _arrow_type(pa: Any, kind: str) -> Any:
    return {"decimal": pa.string(), "int": pa.int64(), "int?": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
            "side": pa.string(), "levels": pa.list_(pa.list_(pa.string()))}[kind]


def _to_column(kind: str, values: list[Any]) -> list[Any]:
    if kind == "decimal":
        return [str(v) for v in values]
    if kind == "side":
        return [v.value for v in values]
    if kind == "levels":
        return [[[str(p), str(s)] for p, s in levels] for levels in values]
    return values


class ParquetWriter:
    """Write events into a ``.parquet`` directory, a table per event type, in row groups
    (memory stays flat in the number of events). Events of other types (gaps, feed
    status) are counted in :attr:`skipped`, not written."""

    def __init__(self, path: str | Path) -> None:
        self._pa = _pyarrow()
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for name in EVENT_TABLES:  # a directory converted again holds this run's tables only
            (self.path / f"{name}.parquet").unlink(missing_ok=True)
        self._pending: dict[type, list[Event]] = {}
        self._seqs: dict[type, list[int]] = {}
        self._writers: dict[type, Any] = {}
        self._seq = 0
        #: Events written, per table.
        self.counts: dict[str, int] = {}
        self.skipped = 0

    def write(self, events: list[Event]) -> None:
        """Add ``events`` (in stream order)."""
        for event in events:
            cls = type(event)
            self._seq += 1
            if cls not in _TABLE_OF:
                self.skipped += 1
                continue
            pending = self._pending.setdefault(cls, [])
            pending.append(event)
            self._seqs.setdefault(cls, []).append(self._seq)
            if len(pending) >= _ROW_GROUP:
                self._flush(cls)

    def _flush(self, cls: type) -> None:
        pa = self._pa
        events, seqs = self._pending.pop(cls, []), self._seqs.pop(cls, [])
        if not events:
            return
        kinds = _kinds(cls)
        schema = pa.schema([("seq", pa.int64()), *((name, _arrow_type(pa, kind)) for name, kind in kinds)])
        columns = [pa.array(seqs, pa.int64())]
        for name, kind in kinds:
            columns.append(pa.array(_to_column(kind, [getattr(e, name) for e in events]), _arrow_type(pa, kind)))
        writer = self._writers.get(cls)
        if writer is None:
            writer = self._writers[cls] = pa.parquet.ParquetWriter(self.path / f"{_TABLE_OF[cls]}.parquet", schema)
        writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        self.counts[_TABLE_OF[cls]] = self.counts.get(_TABLE_OF[cls], 0) + len(events)

    def close(self) -> None:
        """Write what is held and close the files."""
        for cls in list(self._pending):
            self._flush(cls)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _tables(path: Path) -> list[tuple[type, Path]]:
    if path.is_file():  # one table alone: its name says its type
        cls = EVENT_TABLES.get(path.name.removesuffix(".parquet"))
        if cls is None:
            raise ConfigError(f"{path}: not one of botkit's event tables ({', '.join(EVENT_TABLES)}.parquet)")
        return [(cls, path)]
    if not path.is_dir():
        raise ConfigError(f"data file not found: {path}")
    tables = [(cls, path / f"{name}.parquet") for name, cls in EVENT_TABLES.items()
              if (path / f"{name}.parquet").is_file()]
    if not tables:
        raise ConfigError(f"{path}: no event tables there ({', '.join(EVENT_TABLES)}.parquet); "
                          "`botkit convert` writes them")
    return tables


def _decoder(cls: type, names: list[str],
             compiled: bool = True) -> Callable[..., Iterator[tuple[list[int] | None, list[Event]]]]:
    """A record batch of a ``cls`` table to (seqs, events), a column at a time (the
    events built in C where it is built, unless not ``compiled``). Text columns come
    dictionary-encoded (see :func:`_batches`): each distinct text is converted once, and
    the builder takes each row's value by its index; numbers go from Arrow's buffers
    (through numpy views) to the events with no list between."""
    make = fast_constructor(cls)
    kinds = _kinds(cls)
    missing = [name for name, _ in [("seq", ""), *kinds] if name not in names]
    if missing:
        raise ValueError(f"no column {missing[0]!r}")
    decimals: dict[str, Decimal] = {}  # prices and sizes repeat: built once per text

    def decimal(text: str) -> Decimal:
        value = decimals.get(text)
        if value is None:
            if len(decimals) >= 1 << 16:
                decimals.clear()
            value = decimals[text] = Decimal(text)
        return value

    def levels(rows: list[list[str]]) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple((decimal(p), decimal(s)) for p, s in rows)

    sides = {side.value: side for side in Side}
    convert: dict[str, Callable[[list[Any]], list[Any]]] = {
        "decimal": lambda values: list(map(decimal, values)),
        "side": lambda values: list(map(sides.__getitem__, values)),
        "levels": lambda values: list(map(levels, values))}

    def values_of(column: Any, kind: str) -> Callable[[int, int], Any]:
        """The column's rows ``lo:hi``, converted once per batch: a list, a numpy view of
        int64 or bool values, or (distinct values, a numpy view of indices into them)."""
        fn = convert.get(kind)
        if hasattr(column, "dictionary"):
            if column.null_count:
                raise ValueError("a null in a text column")
            texts = column.dictionary.to_pylist()
            distinct = texts if fn is None else fn(texts)
            indices = column.indices.to_numpy()
            return lambda lo, hi: (distinct, indices[lo:hi])
        if kind in ("int", "bool") or (kind == "int?" and not column.null_count):
            array = column.to_numpy(zero_copy_only=False)
            return lambda lo, hi: array[lo:hi]
        values = column.to_pylist()
        values = values if fn is None else fn(values)
        return lambda lo, hi: values[lo:hi]

    fields = tuple(name for name, _ in kinds)
    build = _compiled.build_events if compiled else None

    def decode(batch: Any, seq: bool = True) -> Iterator[tuple[list[int] | None, list[Event]]]:
        # Read a row group at a time (Arrow is fastest so), but events built _CHUNK at a
        # time: a chunk's new objects and the values they point to stay in the cache.
        columns = [values_of(batch.column(name), kind) for name, kind in kinds]
        seqs = values_of(batch.column("seq"), "int") if seq else None
        for lo in range(0, batch.num_rows, _CHUNK):
            hi = lo + _CHUNK
            rows = [column(lo, hi) for column in columns]
            events = build(cls, fields, rows) if build is not None else list(map(make, *map(_as_list, rows)))
            yield (seqs(lo, hi).tolist() if seqs is not None else None), events

    return decode


def _as_list(column: Any) -> list[Any]:
    """A column of :func:`_decoder` as a list (the pure-Python path)."""
    if isinstance(column, list):
        return column
    if isinstance(column, tuple):
        distinct, indices = column
        return list(map(distinct.__getitem__, indices.tolist()))
    return column.tolist()  # type: ignore[no-any-return]


def _batches(cls: type, path: Path, seq: bool = True) -> Iterator[tuple[list[int] | None, list[Event]]]:
    """(seqs, events) of one table, a chunk at a time (seqs None unless ``seq``: a table
    replayed alone needs no merge)."""
    pa = _pyarrow()
    try:
        texts = [name for name, kind in _kinds(cls) if kind in ("decimal", "str", "side")]
        # Text read dictionary-encoded: Arrow never materialises a string per row.
        source = pa.parquet.ParquetFile(path, read_dictionary=texts)
        decode = _decoder(cls, source.schema_arrow.names)
        # A reader per row group: one reader over the whole file holds on to what it has
        # read (Arrow's allocations grow with the file), these free theirs as they end.
        for group in range(source.num_row_groups):
            for batch in source.iter_batches(batch_size=_BATCH, row_groups=[group]):
                yield from decode(batch, seq)
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
        raise DataError(str(path), 0, f"not a table of {cls.__name__} events ({type(exc).__name__}: {exc})") \
            from None


def _merged(tables: list[Iterator[tuple[list[int] | None, list[Event]]]]) -> Iterator[list[Event]]:
    """The tables' events in ``seq`` order, a chunk at a time: every held event up to the
    smallest of the open tables' last held seqs is complete, and one sort by seq puts
    those in order (as MergedSource does by time)."""
    held: list[tuple[list[int], list[Event]]] = [([], []) for _ in tables]
    ended = [False] * len(tables)
    while True:
        for i, table in enumerate(tables):
            if not ended[i] and not held[i][0]:
                nxt = next(table, None)
                if nxt is None:
                    ended[i] = True
                else:
                    assert nxt[0] is not None, "read with seqs"
                    held[i] = (nxt[0], nxt[1])
        open_lasts = [h[0][-1] for i, h in enumerate(held) if not ended[i] and h[0]]
        if not open_lasts and not any(h[0] for h in held):
            return
        bound = min(open_lasts) if open_lasts else None
        pairs: list[tuple[int, Event]] = []
        takers = 0
        for i, (seqs, events) in enumerate(held):
            cut = len(seqs) if bound is None else bisect_right(seqs, bound)
            if cut:
                pairs += zip(seqs[:cut], events[:cut])
                held[i] = (seqs[cut:], events[cut:])
                takers += 1
        if takers > 1:
            pairs.sort(key=itemgetter(0))
        yield [event for _, event in pairs]


class ParquetSource(EventSource):
    """Replay a ``.parquet`` directory (see the module): its tables merged back into the
    order they were written in (their ``seq``), streaming a record batch at a time."""

    replay = True

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._tables = _tables(self.path)

    async def stream(self, publish: Publish) -> None:
        """Every event, in ``seq`` order."""
        if len(self._tables) == 1:
            chunks: Iterator[list[Event]] = (events for _, events in _batches(*self._tables[0], seq=False))
        else:
            chunks = _merged([_batches(cls, path) for cls, path in self._tables])
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            self.stats.frames += len(chunk)
            await publish(chunk)

    def describe(self) -> str:
        """The directory being replayed."""
        return f"replay of {self.path} ({', '.join(p.stem for _, p in self._tables)})"


def read_events(path: str | Path, type: str = "trade") -> Any:
    """The ``type`` table (``trade``, ``quote``, ``book_snapshot``, ``book_delta``,
    ``bar``) of a ``.parquet`` directory that ``botkit convert`` wrote, as a
    ``pyarrow.Table``: ``.to_pandas()`` for pandas, ``polars.from_arrow(table)`` for
    polars. Decimals are strings (exact; see the module).

    :raises ConfigError: no such table there, or pyarrow is not installed.
    """
    pa = _pyarrow()
    if type not in EVENT_TABLES:
        raise ConfigError(f"type={type!r}: one of {', '.join(EVENT_TABLES)}")
    file = Path(path) / f"{type}.parquet" if Path(path).is_dir() else Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: no {type} table (the data held no {EVENT_TABLES[type].__name__} events)")
    return pa.parquet.read_table(file)
