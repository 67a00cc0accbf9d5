"""Build hook: compile botkit's optional C accelerators (see ``botkit/protocol/_compiled.py``).

Five modules, one job each: the WebSocket reader's common frame
(``botkit/protocol/_cframes.c``), Binance trade frames to events
(``botkit/protocol/binance/_ctrades.c``), runs of recording lines through it
(``botkit/sources/_clines.c``), an order book side's update loop
(``botkit/protocol/_cbook.c``) and rows of Binance's trade archives to events
(``botkit/protocol/binance/_carchive.c``). They are optional by design: without a C compiler (or
with ``BOTKIT_NO_SPEEDUPS=1`` at install time) the build warns and botkit runs the same
pure-Python code, with the same results, only slower.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_MODULES = {
    "botkit.protocol._cframes": "botkit/protocol/_cframes.c",
    "botkit.protocol.binance._ctrades": "botkit/protocol/binance/_ctrades.c",
    "botkit.sources._clines": "botkit/sources/_clines.c",
    "botkit.protocol._cbook": "botkit/protocol/_cbook.c",
    "botkit.protocol.binance._carchive": "botkit/protocol/binance/_carchive.c",
}


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("BOTKIT_NO_SPEEDUPS"):
            return
        try:
            built = _compile(Path(self.root))
        except Exception as exc:
            self.app.display_warning(
                f"botkit: the C accelerators were not built ({type(exc).__name__}: {exc}); "
                "botkit will use its pure-Python hot paths (same results, slower)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports them from the source tree
            for path in built:
                build_data["force_include"][str(path)] = str(path.relative_to(self.root))


def _compile(root: Path) -> list[Path]:
    """Build the extensions in place (next to their sources) and return their paths."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    cwd = os.getcwd()
    os.chdir(root)
    try:
        extensions = [
            Extension(name, [source], depends=["botkit/protocol/binance/_ctrades.h", "botkit/protocol/_cslots.h"])
            for name, source in _MODULES.items()
        ]
        dist = Distribution({"name": "botkit", "ext_modules": extensions})
        cmd = build_ext(dist)
        cmd.inplace = True
        cmd.ensure_finalized()
        cmd.run()
        return [root / cmd.get_ext_filename(name) for name in _MODULES]
    finally:
        os.chdir(cwd)
