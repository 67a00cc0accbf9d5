"""Build hook: compile botkit's optional C accelerator (``botkit/protocol/_speedups.c``).

The accelerator is the trade hot path of replays and live feeds (see the C file's
header). It is optional by design: without a C compiler (or with
``BOTKIT_NO_SPEEDUPS=1`` at install time) the build warns and botkit runs the same
pure-Python code, with the same results, only slower.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_MODULE = "botkit.protocol._speedups"
_SOURCE = "botkit/protocol/_speedups.c"


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("BOTKIT_NO_SPEEDUPS"):
            return
        try:
            built = _compile(Path(self.root))
        except Exception as exc:
            self.app.display_warning(
                f"botkit: the C accelerator was not built ({type(exc).__name__}: {exc}); "
                "botkit will use its pure-Python hot path (same results, slower)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports it from the source tree
            build_data["force_include"][str(built)] = str(built.relative_to(self.root))


def _compile(root: Path) -> Path:
    """Build the extension in place (next to its source) and return its path."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    cwd = os.getcwd()
    os.chdir(root)
    try:
        dist = Distribution({"name": "botkit", "ext_modules": [Extension(_MODULE, [_SOURCE])]})
        cmd = build_ext(dist)
        cmd.inplace = True
        cmd.ensure_finalized()
        cmd.run()
        return root / cmd.get_ext_filename(_MODULE)
    finally:
        os.chdir(cwd)
