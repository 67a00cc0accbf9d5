# The compiled twin of _book._update_bids / _update_asks (see _cbook.c).
from decimal import Decimal

def update_side(keys: list[Decimal], levels: dict[Decimal, tuple[Decimal, Decimal]],
                changes: tuple[tuple[Decimal, Decimal], ...], negate: bool) -> None: ...
