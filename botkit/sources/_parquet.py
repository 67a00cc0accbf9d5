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
_BATCH = 8192  # rows per record batch read
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


def _decoder(cls: type, names: list[str], compiled: bool = True) -> Callable[[Any], tuple[list[int], list[Event]]]:
    """A record batch of a ``cls`` table to (seqs, events), a column at a time (the
    events built in C where it is built, unless not ``compiled``)."""
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

    def decimal_column(values: list[str]) -> list[Decimal]:
        got = list(map(decimals.get, values))
        if None in got:  # texts not seen yet (rarer as the replay goes on)
            return [value if value is not None else decimal(text) for value, text in zip(got, values, strict=True)]
        return got  # type: ignore[return-value]  # no None in it

    convert: dict[str, Callable[[list[Any]], list[Any]]] = {
        "decimal": decimal_column, "side": lambda values: list(map(sides.__getitem__, values)),
        "levels": lambda values: list(map(levels, values))}

    fields = tuple(name for name, _ in kinds)
    build = _compiled.build_events if compiled else None

    def decode(batch: Any) -> tuple[list[int], list[Event]]:
        columns = []
        for name, kind in kinds:
            column = batch.column(name)
            if kind == "decimal" and hasattr(column, "dictionary"):  # read dictionary-encoded
                # Each distinct text once, then its Decimal by index: no str per row.
                values = decimal_column(column.dictionary.to_pylist())
                columns.append(list(map(values.__getitem__, column.indices.to_pylist())))
                continue
            values = column.to_pylist()
            fn = convert.get(kind)
            columns.append(values if fn is None else fn(values))
        events = build(cls, fields, columns) if build is not None else list(map(make, *columns))
        return batch.column("seq").to_pylist(), events

    return decode


def _batches(cls: type, path: Path) -> Iterator[tuple[list[int], list[Event]]]:
    """(seqs, events) of one table, a record batch at a time."""
    pa = _pyarrow()
    try:
        decimal_fields = [name for name, kind in _kinds(cls) if kind == "decimal"]
        source = pa.parquet.ParquetFile(path, read_dictionary=decimal_fields)
        decode = _decoder(cls, source.schema_arrow.names)
        for batch in source.iter_batches(batch_size=_BATCH):
            yield decode(batch)
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
        raise DataError(str(path), 0, f"not a table of {cls.__name__} events ({type(exc).__name__}: {exc})") \
            from None


def _merged(tables: list[Iterator[tuple[list[int], list[Event]]]]) -> Iterator[list[Event]]:
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
                    held[i] = nxt
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
