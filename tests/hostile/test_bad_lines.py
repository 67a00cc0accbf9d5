"""Point 2: a bad line never throws away the good lines read before it, and what a crash
leaves (a torn last line, a gzip file cut short) is tolerated with a warning."""

from __future__ import annotations

import gzip
import json

import pytest

from .conftest import SAMPLE_TRADES, cli, trade_line_index


def _trades_before(lines: list[str], index: int) -> int:
    return sum("@trade" in line for line in lines[:index])


def test_a_bad_line_in_the_middle_fails_the_run_after_every_line_before_it(capsys, variant, counter) -> None:
    kept = {}

    def insert(lines: list[str]) -> list[str]:
        index = trade_line_index(lines, 4000) + 1
        kept["trades"], kept["line"] = _trades_before(lines, index), index + 1
        return [*lines[:index], "this is not a recording line\n", *lines[index:]]

    data = variant("bad.txt", insert)
    code, out, err = cli(capsys, "backtest", counter, "--data", data, "--json")
    assert code == 1
    assert f"bad.txt:{kept['line']}: corrupt line" in err.splitlines()[-1]
    summary = json.loads(out)
    assert summary["events_by_type"]["Trade"] == kept["trades"] == 4000
    assert f"delivered {kept['trades']} trades" in err  # on_stop saw them all


@pytest.mark.parametrize("command", ["backtest", "run"])
@pytest.mark.parametrize("cut", ["1723161", '1723162058000000000 {"stream":"btcusdt@tra'])
def test_a_torn_last_line_is_a_warning_not_a_failure(capsys, variant, counter, command, cut) -> None:
    data = variant("torn.txt", lambda lines: [*lines, cut])
    code, out, err = cli(capsys, command, counter, "--data", data, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events_by_type"]["Trade"] == SAMPLE_TRADES
    if command == "run" and " " in cut:
        # The simulator serves what the line holds; the client counts the cut frame.
        assert summary["parse_errors"] == 1
        return
    assert "the last line is cut off" in err
    if command == "backtest":
        assert any("the last line is cut off" in w for w in summary["warnings"])


def test_a_gzip_recording_cut_short_by_a_crash_replays_what_is_whole(capsys, tmp_path, variant, counter) -> None:
    plain = variant("whole.txt", lambda lines: lines)
    packed = gzip.compress(plain.read_bytes())
    data = tmp_path / "crashed.txt.gz"
    data.write_bytes(packed[: len(packed) * 2 // 3])
    code, out, err = cli(capsys, "backtest", counter, "--data", data, "--json")
    assert code == 0, err
    summary = json.loads(out)
    (warning,) = summary["warnings"]
    assert "truncated gzip data after line" in warning
    assert SAMPLE_TRADES // 2 < summary["events_by_type"]["Trade"] < SAMPLE_TRADES
