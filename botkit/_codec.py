"""The one cattrs converter: events to plain dicts / JSON and back, losslessly.

Decimals become strings (exact), enums their values, and every event carries a
``"type"`` tag (the class name) so a stream of mixed events structures back::

    >>> to_dict(trade)["type"]
    'Trade'
    >>> from_dict(to_dict(trade)) == trade
    True
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import cattrs
from cattrs.strategies import configure_tagged_union

from ._decimals import exact_decimal
from ._events import Event

__all__ = ["converter", "from_dict", "from_json", "to_dict", "to_json"]


def _structure_decimal(value: Any, _: type) -> Decimal:
    return exact_decimal(value)


def make_converter() -> cattrs.Converter:
    """Build a converter configured for botkit events (used once, module level)."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    configure_tagged_union(Event, conv, tag_name="type")
    return conv


converter = make_converter()
_unstructure = converter.unstructure
_structure = converter.structure


def to_dict(event: Event) -> dict[str, Any]:
    """Unstructure an event to a JSON-ready dict with a ``"type"`` tag."""
    return _unstructure(event, Event)  # type: ignore[no-any-return]


def from_dict(data: dict[str, Any]) -> Event:
    """Structure a dict made by :func:`to_dict` back into its event.

    :raises cattrs.BaseValidationError: if the dict is not a valid event.
    """
    event: Event = _structure(data, Event)  # type: ignore[arg-type]  # a union is a type to cattrs
    return event


def to_json(event: Event) -> str:
    """One event as one compact JSON line."""
    return json.dumps(to_dict(event), separators=(",", ":"))


def from_json(line: str | bytes) -> Event:
    """Inverse of :func:`to_json`."""
    return from_dict(json.loads(line))
