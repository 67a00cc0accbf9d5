"""Point 17: what the docs say is what the code does: the strategy guide's examples run
as written, its hook table lists every hook, and the README's figures are the current ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from botkit._strategy import HOOKS
from botkit.cli._main import _parser

from ..test_cli import ROOT

GUIDE = (ROOT / "docs" / "strategy-guide.md").read_text()


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_strategy_guides_test_example_passes_as_written(tmp_path: Path) -> None:
    blocks = {block.splitlines()[0].lstrip("# ").split(":")[0]: block for block in _blocks(GUIDE)
              if block.startswith("# ")}
    (tmp_path / "my_strategy.py").write_text(blocks["my_strategy.py"])
    (tmp_path / "test_my_strategy.py").write_text(blocks["test_my_strategy.py"])
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_strategy.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_hook_table_lists_every_hook() -> None:
    table = {m.group(1) for m in re.finditer(r"^\| `(on_\w+)\(", GUIDE, re.M)}
    assert table == set(HOOKS)


def test_the_readme_gives_the_suites_real_duration() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "in seconds" not in readme
    assert "The suite runs offline in about five minutes" in readme


def test_the_max_errors_help_says_what_happens() -> None:
    help_text = _parser()._subparsers._group_actions[0].choices["backtest"].format_help()  # type: ignore[union-attr]
    flat = " ".join(help_text.split())
    assert "halts trading for the rest of the run" in flat and "repeats are counted" in flat


def test_the_soak_explains_its_gap_lines() -> None:
    doc = (ROOT / "docs" / "live-feed.md").read_text()
    from botkit.cli import _soak

    source = Path(_soak.__file__).read_text()
    for line in ("book gaps resynced", "trade gaps left unfilled", "attempts allowed per minute (soak policy)"):
        assert f'"{line}"' in source and f"`{line}`" in doc
