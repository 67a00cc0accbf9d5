"""The fast event constructor is indistinguishable from the attrs one."""

import pickle

import attrs
import pytest
from hypothesis import given

import botkit
from botkit._events import fast_constructor
from botkit.testing import events, quotes, trades


@given(trades())
def test_fast_trade_equals_attrs_trade(trade: botkit.Trade) -> None:
    made = fast_constructor(botkit.Trade)(*attrs.astuple(trade, recurse=False))
    assert made == trade and hash(made) == hash(trade) and repr(made) == repr(trade)
    assert type(made) is botkit.Trade and botkit.from_dict(botkit.to_dict(made)) == trade
    assert pickle.loads(pickle.dumps(made)) == trade
    assert attrs.evolve(made, trade_id=trade.trade_id + 1).trade_id == trade.trade_id + 1
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.price = trade.price  # type: ignore[misc]


@given(quotes())
def test_fast_quote_equals_attrs_quote(quote: botkit.Quote) -> None:
    assert fast_constructor(botkit.Quote)(*attrs.astuple(quote, recurse=False)) == quote


@given(events())
def test_every_event_type_has_a_fast_constructor(event) -> None:
    assert fast_constructor(type(event))(*attrs.astuple(event, recurse=False)) == event


def test_classes_with_validators_are_refused() -> None:
    with pytest.raises(TypeError, match="validators or converters"):
        fast_constructor(botkit.RiskLimits)
