"""The fast event constructor is indistinguishable from the attrs one."""

from hypothesis import given

import attrs
import pytest

import botkit
from botkit._events import fast_constructor
from botkit.testing import quotes, trades


@given(trades())
def test_fast_trade_equals_attrs_trade(trade: botkit.Trade) -> None:
    made = fast_constructor(botkit.Trade)(*attrs.astuple(trade, recurse=False))
    assert made == trade and hash(made) == hash(trade) and repr(made) == repr(trade)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.price = trade.price  # type: ignore[misc]


@given(quotes())
def test_fast_quote_equals_attrs_quote(quote: botkit.Quote) -> None:
    assert fast_constructor(botkit.Quote)(*attrs.astuple(quote, recurse=False)) == quote


def test_classes_with_validators_are_refused() -> None:
    with pytest.raises(TypeError, match="validators or converters"):
        fast_constructor(botkit.RiskLimits)
