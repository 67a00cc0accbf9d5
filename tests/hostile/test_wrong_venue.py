"""Point 4: data of one venue read as another's fails plainly (exit 1), naming the venue
the data looks like; a few bad frames in good data do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import botkit
from botkit.protocol import FrameDecoder, parser_for, venue_for
from botkit.sources._recording import RecordingWriter, parse_line

from .conftest import SAMPLE_TRADES, cli, sample_lines


def _as_venue(path: Path, venue: str, *, header: bool) -> Path:
    """The sample's trades, encoded as ``venue`` would send them."""
    decoder = FrameDecoder(parser_for("binance"))
    encoder = venue_for(venue).encoder()
    with RecordingWriter(path, {"venue": venue}) as writer:
        for line in sample_lines():
            parsed = parse_line(line.rstrip("\n").encode())
            if parsed is None:
                continue
            for event in decoder.decode(parsed[1], parsed[0]):
                if isinstance(event, botkit.Trade):
                    writer.write(parsed[0], encoder.encode_trade(event))
    if not header:
        path.write_text(path.read_text().split("\n", 1)[1])
    return path


@pytest.mark.parametrize(("venue", "header"), [("coinbase", False), ("coinbase", True), ("okx", True)])
def test_replaying_another_venues_data_says_so_and_fails(capsys, tmp_path, counter, venue, header) -> None:
    data = _as_venue(tmp_path / "other.txt", venue, header=header)
    argv = ["backtest", counter, "--data", data, "--json"] + (["--venue", "binance"] if header else [])
    code, out, err = cli(capsys, *argv)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "(100%) failed to parse as binance" in last
    assert f"the data looks like {venue} (pass --venue {venue})" in last
    assert json.loads(out)["stopped_by"] == "error"


def test_the_right_venue_flag_on_that_data_works(capsys, tmp_path, counter) -> None:
    data = _as_venue(tmp_path / "cb.txt", "coinbase", header=False)
    code, out, err = cli(capsys, "backtest", counter, "--data", data, "--venue", "coinbase", "--json")
    assert code == 0, err
    assert json.loads(out)["events_by_type"]["Trade"] == SAMPLE_TRADES


def test_some_bad_frames_in_good_data_are_only_counted() -> None:
    decoder = FrameDecoder(parser_for("binance"))
    for i, line in enumerate(sample_lines()[1:3000]):
        parsed = parse_line(line.rstrip("\n").encode())
        assert parsed is not None
        decoder.decode(b"garbage" if i % 3 == 0 else parsed[1], parsed[0])
    assert decoder.parse_errors == 1000 and decoder.wrong_venue(at_end=True) is None


def test_a_live_feed_of_another_venue_fails_plainly(capsys, tmp_path, counter) -> None:
    # The embedded simulator serves the file's frames as they are: a Binance client
    # receives Coinbase frames, as with a --url of the wrong venue.
    data = _as_venue(tmp_path / "cb.txt", "coinbase", header=False)
    code, _out, err = cli(capsys, "run", counter, "--data", data, "--json")
    assert code == 1
    assert "(100%) failed to parse as binance" in err and "the data looks like coinbase" in err


def test_the_simulators_refuse_a_recording_of_another_venue(capsys, tmp_path, counter) -> None:
    data = _as_venue(tmp_path / "cb.txt", "coinbase", header=True)
    for argv in (["run", counter, "--data", data], ["exchange-sim", "--data", data]):
        code, _, err = cli(capsys, *argv)
        assert code == 2
        assert err == (f"botkit: error: {data} is a coinbase recording; the exchange simulator replays Binance "
                       "recordings (backtest it instead: botkit backtest STRATEGY --data FILE)\n")
