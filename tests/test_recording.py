"""The recording format and the replay source."""

import gzip
from pathlib import Path

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import botkit
import botkit.testing
from botkit.sources import RecordingReader, ReplaySource, _recording

from .helpers import quote, trade, write_recording

pytestmark = pytest.mark.anyio


async def replay(path: Path, venue: str | None = None) -> tuple[list[botkit.Event], ReplaySource]:
    source = ReplaySource(path, venue=venue)
    events: list[botkit.Event] = []

    async def publish(batch: list[botkit.Event]) -> None:
        events.extend(batch)

    with anyio.fail_after(10):
        await source.stream(publish)
    return events, source


_events = st.lists(
    st.one_of(
        botkit.testing.trades(ms_timestamps=True).filter(lambda t: t.price > 0),
        botkit.testing.quotes(exchange_time=False).filter(lambda q: q.bid_price > 0 and q.ask_price > 0),
    ),
    max_size=20,
)


@pytest.mark.parametrize("anyio_backend", ["trio"])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(events=_events, gz=st.booleans())
async def test_events_round_trip_through_a_recording(tmp_path: Path, events: list, gz: bool) -> None:
    # Contiguous trade ids, as a venue sends them (jumps would add Gap events).
    next_id: dict[str, int] = {}
    for i, e in enumerate(events):
        if isinstance(e, botkit.Trade):
            next_id[e.symbol] = next_id.get(e.symbol, -1) + 1
            events[i] = attrs.evolve(e, trade_id=next_id[e.symbol])
    path = write_recording(tmp_path / ("rec.txt.gz" if gz else "rec.txt"), events)
    replayed, source = await replay(path)
    assert replayed == events
    assert source.stats.frames == len(events) and source.stats.parse_errors == 0


async def test_header_metadata_and_comments(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "r.txt", [trade(1)], extra=[b"# a comment", b"", trade_line(2)])
    events, source = await replay(path)
    assert [e.trade_id for e in events] == [1, 2]
    assert source.reader.meta == {"venue": "binance"}


def trade_line(i: int) -> bytes:
    from botkit.protocol.binance import encode_trade

    t = trade(i)
    return b"%d %s" % (t.ts_recv, encode_trade(t))


async def test_bad_frames_are_counted_and_skipped_like_live(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "r.txt", [trade(1)], extra=[b"123 {garbage", trade_line(2)])
    events, source = await replay(path)
    assert [e.trade_id for e in events] == [1, 2]
    assert source.stats.parse_errors == 1 and source.stats.frames == 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"garbage", r"r\.txt:3: corrupt line: expected '<receive-time-ns> <frame>', got b'garbage'"),
        (b"-5 {}", r"r\.txt:3: corrupt line"),
        (b"12345", r"r\.txt:3: corrupt line"),
    ],
)
async def test_corrupt_lines_name_file_and_line(tmp_path: Path, line: bytes, message: str) -> None:
    path = write_recording(tmp_path / "r.txt", [trade(1)], extra=[line])
    with pytest.raises(botkit.DataError, match=message):
        await replay(path)


async def test_truncated_gzip_keeps_every_whole_line_and_says_where_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_recording, "_GZIP_CHUNK", 4096)  # many blocks before the damage
    path = write_recording(tmp_path / "r.txt.gz", [trade(i) for i in range(2000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    events, source = await replay(path)  # what a crash while recording leaves
    reader = RecordingReader(path)
    frames = [row async for row in reader.frames()]
    # The replay counts lines as it decodes them, the reader per block: both agree.
    assert source.stats.warnings == reader.warnings
    (warning,) = reader.warnings
    assert "truncated gzip data after line" in warning and "the torn end is ignored" in warning
    whole = int(warning.split("after line ")[1].split()[0])
    assert whole > 100 and len(frames) >= whole - 2  # the header, perhaps a cut last line
    assert [e.trade_id for e in events] == list(range(len(events))) and len(events) >= whole - 2


async def test_missing_file_and_bad_header(tmp_path: Path) -> None:
    with pytest.raises(botkit.DataError, match="nope.txt: cannot read: No such file or directory"):
        await replay(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"#botkit-recording 9 {}\n")
    with pytest.raises(botkit.DataError, match="unsupported recording version '9'"):
        await replay(bad)


async def test_gzip_is_detected_from_content_not_name(tmp_path: Path) -> None:
    plain = write_recording(tmp_path / "r.txt", [trade(1), quote(2)])
    odd = tmp_path / "compressed.dat"
    odd.write_bytes(gzip.compress(plain.read_bytes()))
    events, _ = await replay(odd)
    assert events == [trade(1), quote(2)]


async def test_reader_yields_line_numbers(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "r.txt", [trade(1), trade(2)])
    reader = RecordingReader(path)
    rows = [row async for row in reader.frames()]
    assert [(lineno, ts) for lineno, ts, _ in rows] == [(2, trade(1).ts_recv), (3, trade(2).ts_recv)]


async def test_the_switch_interval_is_scoped_to_the_replay_and_optional(tmp_path: Path) -> None:
    import sys

    from .helpers import trade, write_recording

    path = write_recording(tmp_path / "r.txt", [trade(1), trade(2)])
    before = sys.getswitchinterval()
    seen: list[float] = []

    async def publish(batch: list) -> None:
        seen.append(sys.getswitchinterval())

    await botkit.ReplaySource(path).stream(publish)
    await botkit.ReplaySource(path, switch_interval_s=None).stream(publish)
    assert seen[0] == 0.0005 and seen[-1] == before  # shorter while streaming; untouched when asked
    assert sys.getswitchinterval() == before
