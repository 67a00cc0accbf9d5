"""What a sweep runs: the parameter combinations (a grid, or random trials of it) and
the walk-forward folds (train and test windows of time)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import attrs

from .._exceptions import ConfigError

__all__ = ["Fold", "combinations", "folds"]

MAX_COMBINATIONS = 100_000


def combinations(space: dict[str, list[Any]], search: str = "grid", trials: int | None = None,
                 seed: int = 0) -> list[dict[str, Any]]:
    """The combinations to run, in a fixed order: every one of the grid (``grid``), or
    ``trials`` of them drawn without repeats by a generator seeded with ``seed``
    (``random``: the same trials on every run and machine).

    :raises ConfigError: an unknown search, a bad trial count, or a grid too large.
    """
    size = 1
    for values in space.values():
        size *= len(values)
    if search not in ("grid", "random"):
        raise ConfigError(f"--search {search!r}: grid or random")
    if search == "random":
        if trials is None or trials < 1:
            raise ConfigError("--search random needs --trials N (N >= 1)")
        picked = sorted(random.Random(seed).sample(range(size), min(trials, size)))
    else:
        if trials is not None:
            raise ConfigError("--trials is for --search random (a grid runs every combination)")
        if size > MAX_COMBINATIONS:
            raise ConfigError(f"the grid has {size:,} combinations, more than {MAX_COMBINATIONS:,}: "
                              "use --search random --trials N, or fewer values")
        picked = list(range(size))
    names = list(space)
    if size <= MAX_COMBINATIONS:
        grid = list(itertools.product(*space.values()))
        return [dict(zip(names, grid[i], strict=True)) for i in picked]
    return [dict(zip(names, _nth(space, i), strict=True)) for i in picked]


def _nth(space: dict[str, list[Any]], index: int) -> list[Any]:
    """The ``index``-th combination in itertools.product's order, without the grid."""
    values = []
    for choices in reversed(space.values()):
        index, at = divmod(index, len(choices))
        values.append(choices[at])
    return values[::-1]


@attrs.frozen
class Fold:
    """One walk-forward fold: parameters are chosen on ``train``, then judged on
    ``test``, the window right after it. Windows are ``[start_ns, end_ns)``."""

    number: int
    train: tuple[int, int]
    test: tuple[int, int]


def folds(first_ns: int, last_ns: int, k: int) -> list[Fold]:
    """``k`` rolling folds over the data from ``first_ns`` to ``last_ns`` (inclusive): the
    span cut into ``k + 1`` equal windows, fold ``i`` training on window ``i`` and
    testing on window ``i + 1``, so every test window is data no choice was made on.

    :raises ConfigError: ``k`` < 1, or data too short to cut.
    """
    if k < 1:
        raise ConfigError(f"--folds must be >= 1, got {k}")
    end = last_ns + 1
    if end - first_ns < k + 1:
        raise ConfigError(f"the data spans {end - first_ns} ns: too short for {k} folds")
    edges = [first_ns + (end - first_ns) * i // (k + 1) for i in range(k + 2)]
    return [Fold(i + 1, (edges[i], edges[i + 1]), (edges[i + 1], edges[i + 2])) for i in range(k)]
