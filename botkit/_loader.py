"""Load a user's strategy file and find its Strategy subclass."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from ._exceptions import ConfigError
from ._strategy import Strategy

__all__ = ["load_strategy"]


def load_strategy(path: str | Path, name: str | None = None) -> type[Strategy]:
    """Import ``path`` and return the Strategy subclass it defines.

    :param name: class name, needed when the file defines several strategies.
    :raises ConfigError: with a one-line reason if the file is missing, does not
        import, or defines no (or an ambiguous) Strategy subclass.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"strategy file not found: {path}")
    module_name = f"botkit_user_strategy_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == file.resolve()
                  or f.filename == str(file)]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise ConfigError(f"{where}: importing the strategy failed: {type(exc).__name__}: {exc}") from None
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj.__module__ == module_name
    ]
    if name is not None:
        for cls in found:
            if cls.__name__ == name:
                return cls
        raise ConfigError(f"{path}: no Strategy subclass named {name!r} (found: {_names(found)})")
    if not found:
        raise ConfigError(f"{path}: no Strategy subclass found; define one with `class MyStrategy(botkit.Strategy):`")
    if len(found) > 1:
        raise ConfigError(f"{path}: several strategies ({_names(found)}); choose one with --strategy NAME")
    return found[0]


def _names(classes: list[type]) -> str:
    return ", ".join(c.__name__ for c in classes) or "none"
