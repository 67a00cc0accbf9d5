"""cattrs (un)structuring of every event: lossless, tagged, strict."""

import json
from decimal import Decimal

import cattrs
import pytest
from hypothesis import given

import botkit
from botkit._codec import from_json, to_json
from botkit.testing import events


@given(events())
def test_any_event_round_trips_through_dict_and_json(event: botkit.Event) -> None:
    data = botkit.to_dict(event)
    assert data["type"] == type(event).__name__
    assert botkit.from_dict(json.loads(json.dumps(data))) == event
    assert from_json(to_json(event)) == event


def test_decimals_stay_exact_strings() -> None:
    trade = botkit.Trade("binance", "BTCUSDT", Decimal("0.10"), Decimal("3.000"), botkit.Side.BUY, 1, 2, 3)
    data = botkit.to_dict(trade)
    assert data["price"] == "0.10" and data["size"] == "3.000" and data["side"] == "buy"


def test_floats_and_unknown_keys_are_rejected() -> None:
    data = botkit.to_dict(botkit.Trade("binance", "X", Decimal(1), Decimal(1), botkit.Side.SELL, 1, 2, 3))
    with pytest.raises(cattrs.BaseValidationError):
        botkit.from_dict({**data, "price": 0.1})
    with pytest.raises(cattrs.BaseValidationError):
        botkit.from_dict({**data, "extra": 1})
