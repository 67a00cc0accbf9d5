"""A strategy's parameters: its public class attributes of a plain type (``window = 50``,
``entry_imbalance = Decimal("0.6")``), given other values for one run (a sweep's
combination) by a subclass that overrides them, so ``__init__`` and ``on_start`` see
them as they would the defaults.
"""

from __future__ import annotations

import typing
from decimal import Decimal, InvalidOperation
from typing import Any

from ._exceptions import ConfigError
from ._strategy import Strategy

__all__ = ["PARAM_TYPES", "check_params", "parse_param", "strategy_params", "with_params"]

#: The types a parameter may have, and how a value of each is written.
PARAM_TYPES: dict[type, str] = {int: "an integer", float: "a number", Decimal: "a decimal", bool: "true or false",
                                str: "text"}


def strategy_params(cls: type[Strategy]) -> dict[str, type]:
    """``cls``'s parameters and their types: the public class attributes its own classes
    (not :class:`~botkit.Strategy`) define with a value of a type in :data:`PARAM_TYPES`;
    the annotation, where there is one, says the type."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: the values say the types
        hints = {}
    params: dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        if not issubclass(klass, Strategy) or klass is Strategy or klass.__module__.startswith("botkit."):
            continue
        for name, value in vars(klass).items():
            kind = hints.get(name, type(value))
            if not name.startswith("_") and kind in PARAM_TYPES and isinstance(value, kind):
                params[name] = kind
    return params


def _value(kind: type, text: str) -> Any:
    if kind is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(text)
        return text.lower() in ("true", "1", "yes")
    if kind is Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
        if not value.is_finite():
            raise ValueError(text)
        return value
    return kind(text)


def parse_param(cls: type[Strategy], spec: str) -> tuple[str, list[Any]]:
    """``NAME=V1,V2,...`` or ``NAME=START:STOP:STEP`` (STOP included when the steps
    reach it) to the name and its values, typed as the parameter is.

    :raises ConfigError: not of that form, no such parameter, or a value of the wrong type.
    """
    name, sep, text = spec.partition("=")
    name = name.strip()
    if not sep or not name or not text.strip():
        raise ConfigError(f"--param {spec!r}: give NAME=V1,V2,... or NAME=START:STOP:STEP")
    params = strategy_params(cls)
    kind = params.get(name)
    if kind is None:
        known = ", ".join(sorted(params)) or "none: give it class attributes such as window = 20"
        raise ConfigError(f"--param {name}: {cls.__name__} has no such parameter (its parameters: {known})")
    text = text.strip()
    try:
        if text.count(":") == 2 and kind in (int, float, Decimal):
            values = _steps(name, kind, *(part.strip() for part in text.split(":")))
        else:
            values = [_value(kind, part.strip()) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--param {name}={text}: {cls.__name__}.{name} is {PARAM_TYPES[kind]}") from None
    if len(set(values)) != len(values):
        raise ConfigError(f"--param {name}={text}: a value given twice")
    return name, values


def _steps(name: str, kind: type, start_text: str, stop_text: str, step_text: str) -> list[Any]:
    start, stop, step = (_value(kind, t) for t in (start_text, stop_text, step_text))
    spec = f"--param {name}={start_text}:{stop_text}:{step_text}"
    if not step > 0 or stop < start:
        raise ConfigError(f"{spec}: START:STOP:STEP needs STEP > 0 and STOP >= START")
    # Exact steps (a float range through Decimal too), so 0.1:0.3:0.1 ends at 0.3.
    first, last, by = (Decimal(str(v)) for v in (start, stop, step))
    count = int((last - first) / by) + 1
    if count > 100_000:
        raise ConfigError(f"{spec}: makes {count:,} values, more than 100,000")
    return [kind(first + i * by) if kind is not Decimal else first + i * by for i in range(count)]


def check_params(cls: type[Strategy], params: dict[str, Any]) -> None:
    """Each of ``params`` is a parameter of ``cls``, with a value of its type.

    :raises ConfigError: one line naming the first that is not.
    """
    known = strategy_params(cls)
    for name, value in params.items():
        kind = known.get(name)
        if kind is None:
            raise ConfigError(f"{cls.__name__} has no parameter {name!r} "
                              f"(its parameters: {', '.join(sorted(known)) or 'none'})")
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ConfigError(f"{cls.__name__}.{name} is {PARAM_TYPES[kind]}, got {value!r}")


def with_params(cls: type[Strategy], params: dict[str, Any]) -> type[Strategy]:
    """A subclass of ``cls`` whose parameters ``params`` override (checked first), named
    as ``cls``; ``cls`` itself when there are none."""
    if not params:
        return cls
    check_params(cls, params)
    return type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__, **params})
