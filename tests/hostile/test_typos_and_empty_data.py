"""Points 12 and 13: typos are named with the nearest valid name (a venue fails, a symbol
or hook warns), and empty data or a directory says exactly that."""

from __future__ import annotations

import gzip
import json

import pytest

from .conftest import SAMPLE, cli


def _strategy(tmp_path, body: str):
    path = tmp_path / "s.py"
    path.write_text("import botkit\n\nclass S(botkit.Strategy):\n" + body)
    return path


@pytest.mark.parametrize(("body", "expected"), [
    ("    symbols = ('BTC-USTD',)\n\n    def on_trade(self, trade):\n        pass\n",
     "BTC-USTD never appeared in the data (did you mean 'BTC-USDT'?); it has BTC-USDT"),
    ("    symbols = ('BTCUSDT',)\n\n    def on_trades(self, trade):\n        pass\n",
     "S.on_trades is not a hook botkit calls (did you mean 'on_trade'?)"),
], ids=["symbol", "hook"])
def test_a_misspelt_symbol_or_hook_is_named(capsys, tmp_path, body, expected) -> None:
    code, out, err = cli(capsys, "backtest", _strategy(tmp_path, body), "--data", SAMPLE, "--json")
    assert code == 0
    assert expected in json.loads(out)["warnings"] and expected in err


def test_real_hooks_and_helpers_are_not_warned_about(capsys, counter) -> None:
    code, out, _ = cli(capsys, "backtest", counter, "--data", SAMPLE, "--json")
    assert code == 0 and json.loads(out)["warnings"] == []


@pytest.mark.parametrize("where", ["flag", "strategy"])
def test_an_unknown_venue_fails_with_the_nearest_name(capsys, tmp_path, counter, where) -> None:
    if where == "flag":
        with pytest.raises(SystemExit) as exited:  # argparse's own exit for a bad argument
            cli(capsys, "backtest", counter, "--data", SAMPLE, "--venue", "binanse")
        code, err = exited.value.code, capsys.readouterr().err
    else:
        path = _strategy(tmp_path, "    venue = 'binanse'\n")
        code, _, err = cli(capsys, "backtest", path, "--data", SAMPLE)
    assert code == 2 and "unknown venue 'binanse' (did you mean 'binance'?)" in err


def test_an_unknown_channel_fails_with_the_nearest_name(capsys, tmp_path) -> None:
    code, _, err = cli(capsys, "record", "--url", "ws://127.0.0.1:1/stream", "--symbols", "BTCUSDT",
                       "--channels", "trades,quotez", "--out", tmp_path / "r.txt")
    assert code == 2 and "unknown channel 'quotez' (did you mean 'quotes'?)" in err
    path = _strategy(tmp_path, "    channels = ('trade',)\n")
    code, _, err = cli(capsys, "backtest", path, "--data", SAMPLE)
    assert code == 2 and "unknown channel 'trade' (did you mean 'trades'?)" in err


@pytest.mark.parametrize("content", [b"", b'#botkit-recording 1 {"venue": "binance"}\n', gzip.compress(b"")])
@pytest.mark.parametrize("command", ["backtest", "run"])
def test_an_empty_recording_says_so(capsys, tmp_path, counter, content, command) -> None:
    data = tmp_path / "empty.txt"
    data.write_bytes(content)
    code, _, err = cli(capsys, command, counter, "--data", data)
    assert code == 1
    assert err.strip().splitlines()[-1] == f"botkit: error: {data}: holds no frames (an empty recording): nothing to replay"


@pytest.mark.parametrize("command", ["backtest", "run", "exchange-sim"])
def test_a_directory_is_not_reported_as_missing(capsys, tmp_path, counter, command) -> None:
    argv = [command] if command == "exchange-sim" else [command, counter]
    code, _, err = cli(capsys, *argv, "--data", tmp_path)
    if command == "backtest":  # a backtest takes a directory of exchange archives
        assert code == 2 and err.startswith(f"botkit: error: {tmp_path}: a directory with no Binance archive (pass a "
                                            "recording file, or archives named like") and err.count("\n") == 1
    else:
        assert code == 2 and err == f"botkit: error: data file is a directory: {tmp_path} (pass a recording file)\n"
