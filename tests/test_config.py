"""The TOML config: validation names the key and value; CLI flags override it."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

import botkit
from botkit._config import load_config

from .test_cli import run_cli

GOOD = """
venue = "binance"
symbols = ["BTCUSDT"]
quote_asset = "USDT"
[paper]
starting_cash = { USDT = "5000" }
latency_ms = 3
slippage_bps = 1.5
[fees]
maker_bps = "2"
taker_bps = 4
[risk]
max_position = "0.5"
max_open_orders = 3
max_orders_per_second = 5
stale_after_ms = 2000
[instruments.BTCUSDT]
tick_size = "0.1"
lot_size = "0.001"
min_notional = "10"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "botkit.toml"
    path.write_text(text)
    return path


def test_a_good_config_maps_onto_the_engine(tmp_path: Path) -> None:
    options = load_config(write(tmp_path, GOOD)).run_fields()
    assert options["starting_cash"] == {"USDT": Decimal(5000)}
    paper = options["paper"]
    assert (paper.latency_ms, paper.slippage_bps, paper.maker_fee_bps, paper.taker_fee_bps) == (
        3, Decimal("1.5"), Decimal(2), Decimal(4))
    assert options["risk"].max_open_orders == 3 and options["risk"].stale_after_s == 2
    assert options["instruments"]["BTC-USDT"] == botkit.Instrument(
        "BTC-USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"), Decimal("10"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk]\nmax_postion = 1\n", "risk: extra fields found (max_postion)"),
        ("[risk]\nmax_open_orders = 'x'\n", "risk.max_open_orders: invalid value"),
        ("[fees]\nmaker_bps = -1\n", "fees: invalid value (maker_bps must be a number >= 0, got -1)"),
        ("mode = 'yolo'\n", "mode"),
        ("[paper]\nstarting_cash = { USDT = 'lots' }\n", "paper.starting_cash['USDT']: invalid value (expected a number, got 'lots')"),
        ("not toml =", "not valid TOML"),
    ],
)
def test_bad_configs_name_the_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(botkit.ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert str(info.value).startswith(f"config {tmp_path / 'botkit.toml'}: ")


def test_the_live_section_names_keys_and_never_holds_one(tmp_path: Path) -> None:
    fields = load_config(write(tmp_path, "mode = 'live'\n[live]\napi_key_env = 'MY_KEY'\n"
                                         "private_key_file = 'k.pem'\ntestnet = true\n")).run_fields()
    assert fields["keys"].api_key_env == "MY_KEY" and fields["keys"].private_key_file == "k.pem"
    assert fields["testnet"] is True
    for key in ("api_secret", "api_key", "private_key", "secret"):
        with pytest.raises(botkit.ConfigError, match=f"\\[live\\] {key}: a key never goes in the config file") as info:
            load_config(write(tmp_path, f"[live]\n{key} = 'hunter2-very-secret'\n"))
        assert "hunter2" not in str(info.value)


def test_cli_flags_override_the_config_and_report_is_written(capsys, tmp_path: Path, data: Path) -> None:
    strategy = tmp_path / "buyer.py"
    strategy.write_text(
        "import botkit\n"
        "class Buyer(botkit.Strategy):\n"
        "    symbols = ('BTCUSDT',)\n"
        "    def on_quote(self, q):\n"
        "        if not self.position() and not self.open_orders():\n"
        "            self.buy('0.5')\n"
    )
    config = write(tmp_path, GOOD)
    out = tmp_path / "report"
    code, stdout, err = run_cli(capsys, "backtest", strategy, "--data", data, "--config", config, "--json", "-q",
                                "--cash", "USDT=2000", "--fee-bps", "0", "--report", out)
    assert code == 0, err
    trading = json.loads(stdout)["trading"]
    assert trading["starting_equity"] == "2000" and Decimal(trading["fees"]) == 0
    assert trading["fills"] >= 1
    assert (out / "report.png").read_bytes().startswith(b"\x89PNG")
    html = (out / "report.html").read_text()
    assert "Max drawdown" in html and "data:image/png;base64," in html
    assert "report written" in err


def test_bad_flag_values_are_one_line_errors(capsys, counting: Path, data: Path) -> None:
    code, _, err = run_cli(capsys, "backtest", counting, "--data", data, "--cash", "USDT")
    assert code == 2 and "--cash 'USDT': expected ASSET=AMOUNT" in err
    code, _, err = run_cli(capsys, "backtest", counting, "--data", data, "--fee-bps", "cheap")
    assert code == 2 and "--fee-bps 'cheap': not a number" in err


def test_a_venue_section_sets_that_venues_account_and_limits(tmp_path: Path) -> None:
    fields = load_config(write(tmp_path, "[fees]\ntaker_bps = 4\n[venues.coinbase]\nstarting_cash = { USD = '50' }\n"
                                         "taker_bps = 60\nmax_position = '0.2'\n[venues.binance]\n"
                                         "latency_ms = 9\n")).run_fields()
    coinbase, binance = fields["accounts"]["coinbase"], fields["accounts"]["binance"]
    assert coinbase.starting_cash == {"USD": Decimal(50)} and coinbase.paper.taker_fee_bps == 60
    assert binance.starting_cash is None and (binance.paper.latency_ms, binance.paper.taker_fee_bps) == (9, 4)
    assert fields["risk"].venues == {"coinbase": botkit.VenueLimits(max_position=Decimal("0.2"))}
    with pytest.raises(botkit.ConfigError, match=r"venues\['okx'\]: invalid value \(taker_bps must be at most 10000"):
        load_config(write(tmp_path, "[venues.okx]\ntaker_bps = 20000\n"))
