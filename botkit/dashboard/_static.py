"""The page's files, shipped in the package (no CDN: the page works offline). uPlot
1.6.32 (MIT, ``static/vendor``) draws the charts, chosen for its size (51 KB minified,
against 198 KB for lightweight-charts) and its plain canvas line charts; ``charts.js`` is
botkit's use of it, shared by the live page and the ``--report`` page."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHART_SCRIPTS", "CHART_STYLE", "STATIC", "static_text"]

STATIC = Path(__file__).with_name("static")
#: The scripts a page with botkit's charts loads, in order.
CHART_SCRIPTS = ("vendor/uPlot.iife.min.js", "charts.js")
#: The styles those charts need.
CHART_STYLE = "vendor/uPlot.min.css"


def static_text(name: str) -> str:
    """A file of the page (``static/NAME``)."""
    return (STATIC / name).read_text(encoding="utf-8")
