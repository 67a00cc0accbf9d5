"""The public surface: curated exports, one exception root, sans-IO protocol layer."""

import copy
import inspect
import pickle
import subprocess
import sys

import pytest

import botkit
from botkit import _exceptions


def test_all_is_sorted_and_complete() -> None:
    assert botkit.__all__ == sorted(botkit.__all__)
    public = {name for name, obj in vars(botkit).items() if not name.startswith("_") and not inspect.ismodule(obj)}
    lazy = {"WebSocketSource"}  # imports trio and wsproto: loaded when first used
    assert public | lazy == set(botkit.__all__) - {"__version__"}
    assert botkit.WebSocketSource.__module__ == "botkit"


def test_public_classes_claim_the_botkit_namespace() -> None:
    assert botkit.Trade.__module__ == "botkit"
    assert botkit.Engine.__module__ == "botkit"


def test_every_exception_derives_from_botkit_error() -> None:
    for name in _exceptions.__all__:
        assert issubclass(getattr(_exceptions, name), botkit.BotkitError)


@pytest.mark.parametrize(
    "exc",
    [
        botkit.DataError("a.txt", 3, "corrupt line"),
        botkit.ParseError("bad", b'{"x":1}'),
        botkit.StrategyError("S", "on_trade", "ValueError: x"),
        botkit.ConfigError("bad config"),
    ],
)
def test_exceptions_survive_copy_and_pickle(exc: botkit.BotkitError) -> None:
    for clone in (copy.copy(exc), pickle.loads(pickle.dumps(exc))):
        assert type(clone) is type(exc)
        assert str(clone) == str(exc)


def test_exception_messages_name_the_problem() -> None:
    assert str(botkit.DataError("a.txt", 3, "corrupt line")) == "a.txt:3: corrupt line"
    assert str(botkit.StrategyError("S", "on_trade", "ValueError: x")) == "strategy S.on_trade raised ValueError: x"


def test_protocol_layer_imports_no_io() -> None:
    code = (
        "import sys, botkit.protocol; "
        "bad = [m for m in ('anyio', 'trio', 'trio_websocket', 'socket') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    # botkit/__init__ imports the engine (and so anyio); load the protocol package alone.
    code = (
        "import importlib.util, sys, types; "
        "pkg = types.ModuleType('botkit'); pkg.__path__ = [__import__('os').path.dirname(%r)]; "
        "sys.modules['botkit'] = pkg; " % botkit.__file__
    ) + code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
