# The compiled twins of _book._update_side and _common.text_levels (see _cbook.c).
from decimal import Decimal

def update_side(keys: list[Decimal], levels: dict[Decimal, tuple[Decimal, Decimal]],
                changes: tuple[tuple[Decimal, Decimal], ...], descending: bool) -> None: ...
def text_levels(pairs: list[tuple[str, str]], prices: dict[str, Decimal],
                sizes: dict[str, Decimal]) -> tuple[tuple[Decimal, Decimal], ...] | None: ...
