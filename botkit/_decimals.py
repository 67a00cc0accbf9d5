"""One rule for turning a value into an exact, finite ``Decimal`` (prices, sizes, limits,
fees, cash), whoever asks: the strategy API, the TOML file, a flag, a dict."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["exact_decimal"]


def exact_decimal(value: object, *, floats: bool = False) -> Decimal:
    """``value`` (a ``Decimal``, ``int`` or numeric ``str``; a ``float`` only with
    ``floats``, through its shortest repr: 0.1 stays 0.1) as a finite ``Decimal``.

    :raises ValueError: with a reason the caller puts in its own message.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a number, got {value!r}")
    elif isinstance(value, float) and not floats:
        raise ValueError(f"float {value!r} is not exact; give a Decimal, int or str")
    else:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number
